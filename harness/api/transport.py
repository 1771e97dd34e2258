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
from collections.abc import Callable
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from harness.auth import Session
from harness.loopback import usable
from harness.target import Target

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RENEW_MIN_S = 5.0


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
    """A requests session whose every request passes the target's guard first.

    With ``relogin``, a credential the target stops accepting (a session that idled out or hit
    its absolute timeout during a long campaign) is renewed: a 401 to a request that carried
    it logs the user in again (at most once per ``RENEW_MIN_S``) and sends the request once
    more with the new credential, so the rest of the campaign is not judged anonymous.
    """

    def __init__(
        self,
        target: Target,
        *,
        source_address: str | None = None,
        credential: Session | None = None,
        relogin: Callable[[], Session | None] | None = None,
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
        self.relogins = 0
        self.renewed: list[Session] = []  # credentials this session made; closed with it
        self._relogin = relogin
        self._renewed_at = 0.0
        # Schemathesis swaps ``self.headers`` out while it sends; this is the object it restores.
        self._base_headers = self.headers
        self._credential_headers: dict[str, str] = {}
        self._cookies: dict[str, str] = {}
        if credential is not None:
            self._adopt(credential)

    def _adopt(self, credential: Session) -> None:
        self._credential_headers = dict(credential.headers)
        self._base_headers.update(self._credential_headers)
        self.write_headers = credential.headers_for_write()
        for cookie in credential.client.cookies.jar:
            self.cookies.set_cookie(cookie)
            if cookie.value is not None:
                self._cookies[cookie.name] = cookie.value

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = (request.method or "GET").upper()
        delay = self.guard.check_request(method, httpx.URL(str(request.url)))
        if delay:
            time.sleep(delay)
        if method in UNSAFE_METHODS:
            for name, value in self.write_headers.items():
                request.headers.setdefault(name, value)
        self.sent += 1
        response = super().send(request, **kwargs)
        if response.status_code == 401 and self._carries_credential(request) and self._renew():
            self.sent += 1
            return super().send(self._refreshed(request), **kwargs)
        return response

    def _carries_credential(self, request: requests.PreparedRequest) -> bool:
        cookie = request.headers.get("Cookie", "")
        if isinstance(cookie, bytes):
            cookie = cookie.decode("latin-1")
        names = {part.split("=", 1)[0].strip() for part in cookie.split(";") if "=" in part}
        headers = {k.lower() for k in request.headers}
        return bool(names & set(self._cookies)) or any(
            name.lower() in headers for name in self._credential_headers
        )

    def _renew(self) -> bool:
        """Log in again unless that was just done; True when a credential is there to retry."""
        if self._relogin is None:
            return False
        if time.monotonic() - self._renewed_at < RENEW_MIN_S:
            return True  # just renewed: the request carried the old credential, retry
        self._renewed_at = time.monotonic()
        fresh = self._relogin()
        if fresh is None:
            return False
        self.renewed.append(fresh)
        self.relogins += 1
        self._adopt(fresh)
        return True

    def _refreshed(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        again = request.copy()
        for name, value in self._credential_headers.items():
            if name in again.headers:
                again.headers[name] = value
        cookie = again.headers.get("Cookie")
        if isinstance(cookie, bytes):
            cookie = cookie.decode("latin-1")
        if cookie:
            pairs = [part.strip().split("=", 1) for part in cookie.split(";") if "=" in part]
            again.headers["Cookie"] = "; ".join(
                f"{name}={self._cookies.get(name, value)}" for name, value in pairs
            )
        if (again.method or "").upper() in UNSAFE_METHODS:
            again.headers.update(self.write_headers)
        return again

    def close(self) -> None:
        for credential in self.renewed:
            credential.close()
        super().close()
