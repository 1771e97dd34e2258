"""A logged-in actor for long probes: bounded requests, CSRF header on writes, re-login on 401.

Reference sessions idle out after seconds and die after well under a minute, so a probe that
walks the whole OpenAPI document outlives its session; the actor logs in again (once per
request) when the target answers 401, and says how often it had to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.probes.bounded import Fetched, fetch

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class Actor:
    def __init__(self, login: Callable[[], Any]) -> None:
        # ``login`` returns a harness.auth.Session (kept untyped: auth is a sibling package).
        self._login = login
        self.session = login()
        self.relogins = 0

    def send(self, method: str, path: str, *, total_s: float = 8.0, auth: bool = True,
             **kwargs: Any) -> Fetched:
        method = method.upper()
        for attempt in range(2):
            headers = dict(kwargs.get("headers") or {})
            if method in UNSAFE and auth:
                headers = {**self.session.headers_for_write(), **headers}
            call = {**kwargs, "headers": headers}
            response = fetch(self.session.client, method, path, total_s=total_s, **call)
            if response.status != 401 or not auth or attempt == 1:
                return response
            self.relogin()
        return response

    def relogin(self) -> None:
        try:
            self.session.close()
        finally:
            self.session = self._login()
            self.relogins += 1

    def close(self) -> None:
        self.session.close()
