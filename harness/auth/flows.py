"""``login()`` and ``logout()``: the profile's ``auth.flow`` picks the adapter.

``oauth-pkce`` (oauth_flow.py): start path -> provider consent form -> callback.
``form`` (form.py): the HTML login form; success judged by ``auth.login.success``.
``api`` (json_token.py): JSON credentials, the answer sets a session cookie (not a profile
flow: asked for explicitly, e.g. to log in a local user on an OAuth profile).
``json-token`` (json_token.py): JSON credentials, the answer holds a token (expiry honoured).
``bearer``, ``static-header`` (static.py): a token from the profile in a header.
``anonymous-cookie``, ``none`` (anonymous_cookie.py): no login; the first with the cookie the
target hands out to anyone.

A connection reset, a timeout or a malformed answer during a login is retried once and kept
in ``session.incidents``; a second one is an AuthError that says so (the login could not be
observed), never a raw transport exception.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness.auth import anonymous_cookie, form, json_token, oauth_flow, static
from harness.auth.common import Throttled, csrf_from_json, retry_after, verify
from harness.auth.forms import parse_page
from harness.auth.session import AuthError, Session
from harness.profile import AuthSettings, User
from harness.target import Target

FLOWS = (
    "oauth-pkce",
    "form",
    "api",
    "json-token",
    "bearer",
    "static-header",
    "anonymous-cookie",
    "none",
)
NO_USER_FLOWS = ("none", "anonymous-cookie")
# Being throttled by the target's own login rate limit is not a login failure: wait it out.
RATE_LIMIT_BUDGET_S = 30.0
TRANSPORT_ATTEMPTS = 2
CSRF_META = ("csrf-token", "csrf_token", "_csrf", "x-csrf-token")


def _pick_user(auth: AuthSettings, flow: str, user_name: str | None) -> User | None:
    if flow in NO_USER_FLOWS:
        return None
    if user_name is None:
        if not auth.users:
            raise AuthError(f"flow {flow!r} needs a user, and auth.users is empty")
        return auth.users[0]
    for user in auth.users:
        if user.name == user_name:
            return user
    if flow == "oauth-pkce":
        # Provider users need no password here: the consent form only names them.
        return User(name=user_name)
    raise AuthError(f"auth.users has no user named {user_name!r}")


def login(
    target: Target,
    user_name: str | None = None,
    flow: str | None = None,
    *,
    local_address: str | None = None,
    next_path: str | None = None,
    client: httpx.Client | None = None,
) -> Session:
    """Log ``user_name`` (default: the profile's first user) in with ``flow``.

    Returns a Session whose client carries the credential. ``client`` lets a caller log in on
    a jar that already holds a cookie (session fixation checks). Raises AuthError when the
    flow does not end in a session the target accepts.
    """
    auth = target.profile.auth
    flow = flow or auth.flow
    if flow not in FLOWS:
        raise AuthError(f"unknown auth flow {flow!r} (known: {', '.join(FLOWS)})")
    user = _pick_user(auth, flow, user_name)
    own_client = client is None
    http = client or target.client(local_address=local_address)
    session = Session(target=target, client=http, flow=flow, user=user, local_address=local_address)
    deadline = time.monotonic() + RATE_LIMIT_BUDGET_S
    transport_failures = 0
    try:
        while True:
            session.steps.clear()
            try:
                _run_flow(session, next_path)
                break
            except Throttled as throttled:
                if time.monotonic() + throttled.retry_after > deadline:
                    raise AuthError(
                        f"login as {user_name!r} kept getting HTTP 429 for "
                        f"{RATE_LIMIT_BUDGET_S:.0f}s",
                        session.steps,
                    ) from None
                time.sleep(throttled.retry_after)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                transport_failures += 1
                step = len(session.steps) + 1
                incident = f"{flow} login, step {step}: {type(exc).__name__}: {exc}"
                session.incidents.append(incident)
                if transport_failures >= TRANSPORT_ATTEMPTS:
                    raise AuthError(
                        f"{flow} login as {session.user_name!r} could not be observed: "
                        f"{'; '.join(session.incidents)}",
                        session.steps,
                    ) from None
    except BaseException:
        if own_client:
            http.close()
        raise
    return session


def _run_flow(session: Session, next_path: str | None) -> None:
    flow = session.flow
    if flow in ("bearer", "static-header"):
        static.login(session)
        return
    if flow == "json-token":
        json_token.token_login(session)
        return
    if flow in NO_USER_FLOWS:
        anonymous_cookie.login(session)
        if flow == "anonymous-cookie" and session.csrf_token is None:
            session.csrf_token = discover_csrf(session)
        return
    if flow == "oauth-pkce":
        oauth_flow.login(session, next_path)
    elif flow == "form":
        form.login(session)
    elif flow == "api":
        json_token.api_login(session)
    if not session.cookie_value:
        raise AuthError(
            f"{flow} login as {session.user_name!r} set no {session.cookie_name!r} cookie",
            session.steps,
        )
    verify(session)
    if session.csrf_token is None:
        session.csrf_token = discover_csrf(session)


def discover_csrf(session: Session) -> str | None:
    """The session's CSRF token: the me endpoint's JSON, else a page's meta tag or field."""
    auth = session.target.profile.auth
    if auth.me_path and session.flow != "anonymous-cookie":
        token = csrf_from_json(session.client.get(auth.me_path))
        if token:
            return token
    for path in session.target.profile.target.pages[:3]:
        page = session.client.get(path, follow_redirects=True)
        if "html" not in page.headers.get("content-type", ""):
            continue
        info = parse_page(page.text)
        for name in (*CSRF_META, auth.csrf_field.lower()):
            if info.meta.get(name):
                return info.meta[name]
        for found_form in info.forms:
            found = found_form.field(auth.csrf_field)
            if found is not None and found.value:
                return found.value
    return None


def logout(session: Session) -> httpx.Response | None:
    """Log out through the app (login flows with a cookie); None for flows without one."""
    if not session.uses_cookie or session.flow == "anonymous-cookie":
        return None
    path = session.target.profile.auth.require_logout_path()
    response: httpx.Response | None = None
    for _ in range(TRANSPORT_ATTEMPTS):
        try:
            response = session.client.post(path, headers=session.headers_for_write(), json={})
            if response.status_code == 429:
                time.sleep(retry_after(response))
                response = session.client.post(path, headers=session.headers_for_write(), json={})
            return response
        except httpx.TransportError as exc:
            session.incidents.append(f"logout: {type(exc).__name__}: {exc}")
    raise AuthError(f"logout at {path} could not be observed: {'; '.join(session.incidents)}")


def anonymous(target: Target, **client_kwargs: Any) -> httpx.Client:
    """A client with no credentials at all (AUTH-11 and friends)."""
    return target.client(**client_kwargs)


__all__ = ["FLOWS", "anonymous", "discover_csrf", "login", "logout"]
