"""The ``bearer`` and ``static-header`` adapters: a token the profile (or environment) holds.

The token goes in ``auth.login.token_header`` with ``auth.login.token_scheme`` in front
(``Authorization: Bearer <token>``; an API key: header ``X-API-Key`` and scheme ``""``).
"""

from __future__ import annotations

import os

from harness.auth.common import verify
from harness.auth.session import AuthError, Session
from harness.profile import LoginSettings


def header_value(settings: LoginSettings, token: str) -> str:
    return f"{settings.token_scheme} {token}" if settings.token_scheme else token


def login(session: Session) -> None:
    settings = session.target.profile.auth.login
    token = session.user.token if session.user else None
    if not token and settings.token_env:
        token = os.environ.get(settings.token_env)
    if not token:
        where = f" nor ${settings.token_env}" if settings.token_env else ""
        raise AuthError(
            f"user {session.user_name!r} has no token for flow {session.flow!r} "
            f"(auth.users[].token{where})"
        )
    session.credential_headers = {settings.token_header: header_value(settings, token)}
    session.client.headers.update(session.credential_headers)
    verify(session)
