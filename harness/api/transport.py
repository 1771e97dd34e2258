"""A requests session for Schemathesis that goes through the harness's egress guard.

Schemathesis sends with ``requests``; the harness's guarded clients are httpx. Rather than
letting Schemathesis open its own sessions (which would skip ``scope.allow``, ``scope.exclude``
and the safety mode), every case is sent with a :class:`GuardedSession`: each prepared request,
redirect hops included, passes ``ScopeGuard.check_request`` before a connection is opened, and
waits the pacing delay the safe mode asks for. Checks that re-send a request (the content-type
probe) get the same session through the transport arguments, so they are held by the same
guard; ``ignored_auth``, which drops the session it is given, is not run (see ``model.py``).

The session carries one user's credential from the profile's auth adapter: the session cookie
and token headers on every request, the CSRF header on state-changing ones. It sends from a
loopback source address of its own (``harness.loopback``) so a per-client rate limit of the
target does not throttle the fuzzing into a stream of 429s.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from harness.auth import Session
from harness.loopback import usable
from harness.target import Target

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _SourceAdapter(HTTPAdapter):
    """Connection pools bound to one source address (None: the system picks)."""

    def __init__(self, source: str | None) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._source:
            kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


class GuardedSession(requests.Session):
    """A requests session whose every request passes the target's guard first."""

    def __init__(
        self,
        target: Target,
        *,
        source_address: str | None = None,
        credential: Session | None = None,
    ) -> None:
        super().__init__()
        self.guard = target.guard
        self.verify = target.verify
        # Proxy variables of the harness's environment must not route the fuzzing elsewhere.
        self.trust_env = False
        adapter = _SourceAdapter(usable(source_address, target.base_url))
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        self.user = credential.user_name if credential is not None else None
        self.write_headers: dict[str, str] = {}
        self.sent = 0
        if credential is not None:
            self.headers.update(credential.headers)
            self.write_headers = credential.headers_for_write()
            for cookie in credential.client.cookies.jar:
                self.cookies.set_cookie(cookie)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = (request.method or "GET").upper()
        delay = self.guard.check_request(method, httpx.URL(str(request.url)))
        if delay:
            time.sleep(delay)
        if method in UNSAFE_METHODS:
            for name, value in self.write_headers.items():
                request.headers.setdefault(name, value)
        self.sent += 1
        return super().send(request, **kwargs)
