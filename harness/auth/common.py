"""What every login adapter shares: throttling, JSON reading, the CSRF token, the identity check.

A 429 from the target's own login rate limit is waited out (``Throttled``), not a failed login.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.auth.session import AuthError, Session

CSRF_JSON_KEYS = ("csrf_token", "csrfToken", "csrf", "_csrf")


class Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "2")), 0.5), 10.0)
    except ValueError:
        return 2.0


def check_throttle(response: httpx.Response) -> httpx.Response:
    if response.status_code == 429:
        raise Throttled(retry_after(response))
    return response


def json_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def lookup(data: Any, path: str) -> Any:
    """``a.b.0.c`` or a JSON pointer ``/a/b/0/c`` into decoded JSON; None when absent."""
    if path.startswith("/"):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    else:
        parts = path.split(".")
    for part in parts:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def csrf_from_json(response: httpx.Response) -> str | None:
    data = json_body(response)
    if not data:
        return None
    for container in (data, data.get("data") if isinstance(data.get("data"), dict) else {}):
        for key in CSRF_JSON_KEYS:
            value = container.get(key) if isinstance(container, dict) else None
            if isinstance(value, str) and value:
                return value
    return None


def verify(session: Session) -> httpx.Response | None:
    """The identity route must answer 200 with the new credential (skipped without one)."""
    me_path = session.target.profile.auth.me_path
    if not me_path:
        return None
    response = check_throttle(session.client.get(me_path))
    if response.status_code != 200:
        raise AuthError(
            f"{session.flow} login as {session.user_name!r} did not authenticate: "
            f"GET {me_path} answered HTTP {response.status_code}",
            [*session.steps, response],
        )
    session.csrf_token = session.csrf_token or csrf_from_json(response)
    return response
