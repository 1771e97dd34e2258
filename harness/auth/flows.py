"""Login adapters, one per ``auth.flow`` of the profile, behind ``login()`` and ``logout()``.

``oauth-pkce``: start path -> provider consent form -> callback (no browser).
``form``: the HTML login form with its hidden CSRF field.
``api``: POST of JSON credentials to ``auth.api_login_path`` (not a profile flow: asked for
explicitly, e.g. to log in a local user on an OAuth profile).
``bearer``: ``Authorization: Bearer <user.token>``. ``none``: an anonymous client.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from harness.auth import oauth
from harness.auth.forms import parse_page
from harness.auth.session import AuthError, Session, cookie_from_jar
from harness.profile import AuthSettings, User
from harness.target import Target

FLOWS = ("oauth-pkce", "form", "api", "bearer", "none")
# Being throttled by the target's own login rate limit is not a login failure: wait it out.
RATE_LIMIT_BUDGET_S = 30.0
CSRF_JSON_KEYS = ("csrf_token", "csrfToken", "csrf", "_csrf")
CSRF_META = ("csrf-token", "csrf_token", "_csrf", "x-csrf-token")


class _Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _check_throttle(response: httpx.Response) -> httpx.Response:
    if response.status_code == 429:
        try:
            wait = float(response.headers.get("retry-after", "2"))
        except ValueError:
            wait = 2.0
        raise _Throttled(min(max(wait, 0.5), 10.0))
    return response


def _pick_user(auth: AuthSettings, flow: str, user_name: str | None) -> User | None:
    if flow == "none":
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

    Returns a Session whose client carries the session cookie. ``client`` lets a caller log
    in on a jar that already holds a cookie (session fixation checks). Raises AuthError when
    the flow does not end in a session the target accepts.
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
    try:
        while True:
            session.steps.clear()
            try:
                _run_flow(session, next_path)
                break
            except _Throttled as throttled:
                if time.monotonic() + throttled.retry_after > deadline:
                    raise AuthError(
                        f"login as {user_name!r} kept getting HTTP 429 for "
                        f"{RATE_LIMIT_BUDGET_S:.0f}s",
                        session.steps,
                    ) from None
                time.sleep(throttled.retry_after)
    except BaseException:
        if own_client:
            http.close()
        raise
    return session


def _run_flow(session: Session, next_path: str | None) -> None:
    flow = session.flow
    if flow == "none":
        return
    if flow == "bearer":
        token = session.user.token if session.user else None
        if not token:
            raise AuthError(f"user {session.user_name!r} has no token for flow 'bearer'")
        session.client.headers["Authorization"] = f"Bearer {token}"
        _verify(session)
        return
    if flow == "oauth-pkce":
        _oauth_login(session, next_path)
    elif flow == "form":
        _form_login(session)
    elif flow == "api":
        _api_login(session)
    if not session.cookie_value:
        raise AuthError(
            f"{flow} login as {session.user_name!r} set no {session.cookie_name!r} cookie",
            session.steps,
        )
    _verify(session)
    if session.csrf_token is None:
        session.csrf_token = discover_csrf(session)


def _verify(session: Session) -> None:
    me_path = session.target.profile.auth.me_path
    if not me_path:
        return
    response = _check_throttle(session.client.get(me_path))
    if response.status_code != 200:
        raise AuthError(
            f"{session.flow} login as {session.user_name!r} did not authenticate: "
            f"GET {me_path} answered HTTP {response.status_code}",
            [*session.steps, response],
        )
    session.csrf_token = session.csrf_token or _csrf_from_json(response)


def _oauth_login(session: Session, next_path: str | None) -> None:
    auth = session.target.profile.auth
    client = session.client
    assert session.user is not None
    settings = auth.require_oauth()
    try:
        authorize = oauth.begin(client, settings, next_path, auth.next_param)
    except AuthError as exc:
        if exc.responses:
            _check_throttle(exc.responses[-1])  # a 429 is waited out, not a failed login
        raise
    session.steps.append(authorize.start)
    consent = oauth.approve(client, authorize, session.user.name, settings, session.target.base_url)
    session.steps.extend(consent.responses)
    callback = _check_throttle(oauth.complete(client, consent.callback_url))
    session.steps.append(callback)
    if callback.status_code >= 400:
        raise AuthError(
            f"OAuth callback {consent.callback_url} answered HTTP {callback.status_code}",
            session.steps,
        )


def _form_login(session: Session) -> None:
    auth = session.target.profile.auth
    assert session.user is not None
    page = _check_throttle(session.client.get(auth.login_path))
    session.steps.append(page)
    info = parse_page(page.text)
    form = next((f for f in info.forms if f.has_password()), None)
    if form is None:
        raise AuthError(
            f"no login form with a password field on {auth.login_path} (HTTP {page.status_code})",
            session.steps,
        )
    data = form.values()
    data[auth.username_field] = session.user.name
    data[auth.password_field] = session.user.password
    token = data.get(auth.csrf_field) or info.meta.get(auth.csrf_field.replace("_", "-"))
    if token:
        data[auth.csrf_field] = token
    action = urljoin(str(page.request.url), form.action or auth.login_path)
    answer = _check_throttle(session.client.post(action, data=data))
    session.steps.append(answer)
    location = answer.headers.get("location", "")
    back_to_login = urlsplit(urljoin(action, location)).path == urlsplit(action).path
    if answer.status_code not in oauth.REDIRECTS or back_to_login:
        raise AuthError(
            f"form login as {session.user.name!r} at {action} answered HTTP "
            f"{answer.status_code} (Location {location or '-'}): credentials refused?",
            session.steps,
        )


def _api_login(session: Session) -> None:
    auth = session.target.profile.auth
    assert session.user is not None
    if not auth.api_login_path:
        raise AuthError("flow 'api' needs auth.api_login_path in the profile")
    body = {auth.username_field: session.user.name, auth.password_field: session.user.password}
    answer = _check_throttle(session.client.post(auth.api_login_path, json=body))
    session.steps.append(answer)
    if not answer.is_success:
        raise AuthError(
            f"API login as {session.user.name!r} at {auth.api_login_path} answered HTTP "
            f"{answer.status_code}",
            session.steps,
        )
    session.login_json = _json(answer)
    session.csrf_token = _csrf_from_json(answer)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _csrf_from_json(response: httpx.Response) -> str | None:
    data = _json(response)
    if not data:
        return None
    for container in (data, data.get("data") if isinstance(data.get("data"), dict) else {}):
        for key in CSRF_JSON_KEYS:
            value = container.get(key) if isinstance(container, dict) else None
            if isinstance(value, str) and value:
                return value
    return None


def discover_csrf(session: Session) -> str | None:
    """The session's CSRF token: the me endpoint's JSON, else a page's meta tag or field."""
    auth = session.target.profile.auth
    if auth.me_path:
        token = _csrf_from_json(session.client.get(auth.me_path))
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
        for form in info.forms:
            found = form.field(auth.csrf_field)
            if found is not None and found.value:
                return found.value
    return None


def logout(session: Session) -> httpx.Response | None:
    """Log out through the app (cookie flows); None for flows without a server session."""
    if session.flow in ("bearer", "none"):
        return None
    path = session.target.profile.auth.require_logout_path()
    response = session.client.post(path, headers=session.headers_for_write(), json={})
    if response.status_code == 429:
        time.sleep(_retry_after(response))
        response = session.client.post(path, headers=session.headers_for_write(), json={})
    return response


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "2")), 0.5), 10.0)
    except ValueError:
        return 2.0


def anonymous(target: Target, **client_kwargs: Any) -> httpx.Client:
    """A client with no credentials at all (AUTH-11 and friends)."""
    return target.client(**client_kwargs)


__all__ = ["FLOWS", "anonymous", "cookie_from_jar", "discover_csrf", "login", "logout"]
