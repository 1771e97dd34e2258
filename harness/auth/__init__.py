"""Authentication adapters driven by the profile's ``auth`` section (docs/auth.md).

from harness.auth import login, logout
session = login(target, "alice")               # the profile's flow (oauth-pkce, form, ...)
session = login(target, "carol", flow="api")    # a local user through the JSON login
session.get("/api/v1/me"); session.post(path, json=...)   # CSRF header added for writes
session.new_client(); session.apply(client)    # other clients carrying the same credential
session.headers, session.cookie_value, session.require_cookie(), session.headers_for_write()
logout(session)
"""

from collections.abc import Callable

from harness.auth.flows import FLOWS, anonymous, discover_csrf, login, logout
from harness.auth.session import (
    HEADER_FLOWS,
    AuthError,
    Session,
    cookie_from_jar,
    no_cookie_reason,
    with_cookie,
)

# The type of the suites' ``login`` fixture: ``login(user_name=None, flow=None, **kwargs)``.
LoginFactory = Callable[..., Session]

__all__ = [
    "FLOWS",
    "HEADER_FLOWS",
    "AuthError",
    "LoginFactory",
    "Session",
    "anonymous",
    "cookie_from_jar",
    "discover_csrf",
    "login",
    "logout",
    "no_cookie_reason",
    "with_cookie",
]
