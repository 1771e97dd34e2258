"""JSON logins: ``api`` (the answer sets a session cookie) and ``json-token`` (it returns a token).

``json-token`` reads the token at ``auth.login.token_path`` of the answer, sends it in
``auth.login.token_header``, and honours ``auth.login.expires_in_path``: an expired token is
refreshed at ``auth.login.refresh_path`` when the profile names one, else the user logs in
again. The renewal runs on a fresh client so it never recurses through the token auth.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness.auth.common import check_throttle, csrf_from_json, json_body, lookup, verify
from harness.auth.session import AuthError, Session
from harness.auth.static import header_value
from harness.auth.token import Token, TokenAuth
from harness.profile import LoginSettings


def _post_credentials(session: Session, client: httpx.Client) -> httpx.Response:
    auth = session.target.profile.auth
    assert session.user is not None
    if not auth.api_login_path:
        raise AuthError(f"flow {session.flow!r} needs auth.api_login_path in the profile")
    body = {auth.username_field: session.user.name, auth.password_field: session.user.password}
    answer = check_throttle(client.post(auth.api_login_path, json=body))
    if not answer.is_success:
        raise AuthError(
            f"JSON login as {session.user.name!r} at {auth.api_login_path} answered HTTP "
            f"{answer.status_code}",
            [*session.steps, answer],
        )
    return answer


def api_login(session: Session) -> None:
    """``api``: the JSON login answers with a session cookie (and maybe a CSRF token)."""
    answer = _post_credentials(session, session.client)
    session.steps.append(answer)
    session.login_json = json_body(answer)
    session.csrf_token = csrf_from_json(answer)


def _token(settings: LoginSettings, answer: httpx.Response, what: str) -> Token:
    data: Any = json_body(answer)
    value = lookup(data, settings.token_path) if data is not None else None
    if not isinstance(value, str) or not value:
        keys = ", ".join(sorted(data)) if isinstance(data, dict) else "not a JSON object"
        raise AuthError(
            f"{what} answer has no token at {settings.token_path!r} (top-level keys: {keys}); "
            "set auth.login.token_path",
            [answer],
        )
    expires_at = None
    if settings.expires_in_path and data is not None:
        expires_in = lookup(data, settings.expires_in_path)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            expires_at = time.monotonic() + float(expires_in)
    return Token(header_value(settings, value), expires_at)


def token_login(session: Session) -> None:
    """``json-token``: the JSON login answers with a token the session sends as a header."""
    settings = session.target.profile.auth.login
    answer = _post_credentials(session, session.client)
    session.steps.append(answer)
    session.login_json = json_body(answer)
    token = _token(settings, answer, "JSON login")
    refresh = {"token": lookup(session.login_json, settings.refresh_token_path)}

    def renew() -> Token:
        with session.target.client(local_address=session.local_address) as client:
            if settings.refresh_path and isinstance(refresh["token"], str):
                fresh = client.post(
                    settings.refresh_path, json={settings.refresh_field: refresh["token"]}
                )
                if fresh.is_success:
                    refresh["token"] = (
                        lookup(json_body(fresh), settings.refresh_token_path) or (refresh["token"])
                    )
                    return _token(settings, fresh, "token refresh")
            again = _post_credentials(session, client)
            refresh["token"] = lookup(json_body(again), settings.refresh_token_path)
            return _token(settings, again, "JSON login")

    session.token_auth = TokenAuth(settings.token_header, token, renew)
    session.client.auth = session.token_auth
    verify(session)
