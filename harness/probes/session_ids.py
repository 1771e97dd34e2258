"""What SEC-09 must search for besides issued tokens, and where.

A session identifier is a bearer credential like any token: the harness holds the ones the
target handed it (its cookies), so it can look for them in logs and pages. A signed cookie
(``<id>.<signature>``, ``s:<id>.<signature>``) is searched whole and by its parts, since an app
that logs the id logs the part before the signature. Logs are the app's and those of every
service in front of it (a reverse proxy's access log records what reached the app); the
third-party stand-ins and datastores are not the app's to keep clean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import httpx

MIN_LENGTH = 16  # shorter values (flags, "1", a theme name) are no credential
_SEPARATORS = re.compile(r"[.:|]|--")


def _add(found: dict[str, str], label: str, value: str) -> None:
    value = value.strip().strip('"')
    if len(value) < MIN_LENGTH:
        return
    found.setdefault(f"session identifier: cookie {label}", value)
    parts = [part for part in _SEPARATORS.split(value) if len(part) >= MIN_LENGTH]
    if len(parts) > 1 or (parts and parts[0] != value):
        for index, part in enumerate(parts):
            found.setdefault(f"session identifier: cookie {label} (part {index + 1})", part)


def received(jar: httpx.Cookies | None, responses: Iterable[httpx.Response] = ()) -> dict[str, str]:
    """Cookie values of ``MIN_LENGTH`` or more the target set (in the jar and in the
    ``Set-Cookie`` headers of ``responses``), whole and split at signature separators."""
    found: dict[str, str] = {}
    for cookie in jar.jar if jar is not None else []:
        if cookie.value:
            _add(found, cookie.name, cookie.value)
    for response in responses:
        for header in response.headers.get_list("set-cookie"):
            # Only the first "name=value" pair: the rest are attributes (Path, Expires, ...).
            name, _, value = header.split(";", 1)[0].partition("=")
            if name.strip():
                _add(found, name.strip(), value)
    return found


def other_flows(flow: str, *, api_login_path: str | None, has_password_user: bool) -> list[str]:
    """Login flows the target offers besides the profile's own: a JSON login with a local
    user beside an OAuth login. Each hands out its own session and writes its own log lines."""
    if flow != "api" and api_login_path and has_password_user:
        return ["api"]
    return []


def front_services(
    services: Sequence[str], *, app_log_service: str, not_the_app: Iterable[str | None]
) -> list[str]:
    """Stack services whose logs belong to the target besides the app's: everything but the
    app itself, its datastores and the third-party stand-ins (a reverse proxy, say)."""
    skip = {app_log_service, *(name for name in not_the_app if name)}
    return [name for name in services if name not in skip]
