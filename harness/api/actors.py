"""Who the API data probes act as, and which operations they must not call.

Shared by API-03/04/05/07: the profile's users (never the one AUTH-09 may lock out, unless a
probe asks for it), and the login and logout routes the profile names, which would end or
replace the probe's own session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from harness.auth import Session
from harness.operations import Operation, RequestSpec
from harness.operations.discovery import Discovered
from harness.probes.access import send
from harness.profile import Profile
from harness.verdicts import NotApplicable

_SESSION_ENDING = re.compile(r"log-?out|sign-?out|log-?in|sign-?in", re.IGNORECASE)


def probe_user(profile: Profile) -> str:
    """The profile's first user other than the lockout user (NotApplicable when none)."""
    auth = profile.auth
    if auth.flow in ("none", "anonymous-cookie"):
        raise NotApplicable(f"auth.flow is {auth.flow!r}: the target has no users")
    names = [u.name for u in auth.users if u.name != auth.lockout_user]
    if not names:
        raise NotApplicable("the profile lists no user to act as (auth.users)")
    return names[0]


def excluded(profile: Profile) -> Callable[[Operation], bool]:
    """Operations a user's walk must not call: logging in or out ends the experiment."""
    auth = profile.auth
    paths = {p for p in (auth.login_path, auth.api_login_path, auth.logout_path) if p}

    def check(op: Operation) -> bool:
        return op.path in paths or bool(_SESSION_ENDING.search(op.path))

    return check


def sender(session: Session) -> Callable[[RequestSpec], httpx.Response]:
    """Bounded requests with the session's credentials (and CSRF header on writes)."""

    def go(spec: RequestSpec) -> httpx.Response:
        writes = spec.method in ("POST", "PUT", "PATCH", "DELETE")
        return send(session.client, spec, session.headers_for_write() if writes else None)

    return go


@dataclass
class Actor:
    """The probe user, logged in, and the target's operations that user may call."""

    user: str
    session: Session
    found: Discovered
    operations: list[Operation]

    def send(self) -> Callable[[RequestSpec], httpx.Response]:
        return sender(self.session)
