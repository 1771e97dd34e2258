"""Authentication adapters driven by the profile's ``auth`` section.

from harness.auth import login, logout
session = login(target, "alice")               # the profile's flow (oauth-pkce, form, ...)
session = login(target, "carol", flow="api")    # a local user through the JSON login
session.get("/api/v1/me"); session.post(path, json=...)   # CSRF header added for writes
session.cookie_value, session.csrf_token, session.headers_for_write(), session.steps
logout(session)
"""

from collections.abc import Callable

from harness.auth.flows import FLOWS, anonymous, discover_csrf, login, logout
from harness.auth.session import AuthError, Session, cookie_from_jar, with_cookie

# The type of the suites' ``login`` fixture: ``login(user_name=None, flow=None, **kwargs)``.
LoginFactory = Callable[..., Session]

__all__ = [
    "FLOWS",
    "AuthError",
    "LoginFactory",
    "Session",
    "anonymous",
    "cookie_from_jar",
    "discover_csrf",
    "login",
    "logout",
    "with_cookie",
]
