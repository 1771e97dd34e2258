"""An httpx.Auth that puts a session's token on every request and renews it before it expires.

Every client that carries the session (its own, ``new_client``, ``apply``) shares one
instance, so a renewal (refresh or a new login) reaches all of them at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

import httpx

# Renew this long before the stated expiry: a request must not leave with a token that dies
# on the way.
EXPIRY_MARGIN_S = 2.0


class Token:
    """One issued token: the header value and when it stops working (None: never said)."""

    def __init__(self, value: str, expires_at: float | None = None) -> None:
        self.value = value
        self.expires_at = expires_at

    def expired(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (now if now is not None else time.monotonic()) >= self.expires_at - EXPIRY_MARGIN_S


class TokenAuth(httpx.Auth):
    def __init__(self, header: str, token: Token, renew: Callable[[], Token]) -> None:
        self.header = header
        self.token = token
        self.renewals = 0
        self._renew = renew
        self._lock = threading.Lock()

    def current(self) -> Token:
        with self._lock:
            if self.token.expired():
                self.token = self._renew()
                self.renewals += 1
            return self.token

    def headers(self) -> dict[str, str]:
        return {self.header: self.current().value}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.current().value
        yield request
