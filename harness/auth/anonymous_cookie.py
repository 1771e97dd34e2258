"""The ``none`` and ``anonymous-cookie`` adapters: no login at all.

``anonymous-cookie`` is an app that hands out its session cookie to anyone (a cart, a
preferences session): the cookie it hands out is the session the cookie-flag, fixation and
tamper controls check.
"""

from __future__ import annotations

from harness.auth.common import check_throttle
from harness.auth.session import AuthError, Session


def login(session: Session) -> None:
    if session.flow == "none":
        return
    path = session.target.profile.auth.login.anonymous_path
    page = check_throttle(session.client.get(path))
    session.steps.append(page)
    hops = 0
    # Follow redirects by hand so every Set-Cookie of the way stays in the trail.
    while page.is_redirect and hops < 5 and not session.cookie_value:
        page = check_throttle(session.client.get(page.headers["location"]))
        session.steps.append(page)
        hops += 1
    if not session.cookie_value:
        raise AuthError(
            f"GET {path} handed out no {session.cookie_name!r} cookie (HTTP {page.status_code}); "
            "set auth.login.anonymous_path to a page that does, or auth.login.anonymous_cookie",
            session.steps,
        )
