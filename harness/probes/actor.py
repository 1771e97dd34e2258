"""A logged-in actor for long probes: bounded requests, CSRF header on writes, re-login on 401,
and its own loopback source addresses.

Reference sessions idle out after seconds and die after well under a minute, so a probe that
walks the whole OpenAPI document outlives its session; the actor logs in again (once per
request) when the target answers 401, and counts how often it had to.

Probes send far more requests than a user, and per-client-IP rate limits would turn their
answers into 429s (which a comparison-based probe must never mistake for a signal). With
``addresses`` the actor sends from a pool of loopback addresses and moves to the next one
when it is throttled; the session's credential travels with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from harness.probes.bounded import Fetched, fetch

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class Actor:
    def __init__(
        self,
        login: Callable[[], Any],
        *,
        client_factory: Callable[[str], httpx.Client] | None = None,
        addresses: Sequence[str] = (),
    ) -> None:
        # ``login`` returns a harness.auth.Session (kept untyped: auth is a sibling package).
        self._login = login
        self.session = login()
        self.relogins = 0
        self.throttled = 0
        self._factory = client_factory
        self._addresses = list(addresses)
        self._current = 0
        self._clients: dict[str, httpx.Client] = {}

    def _client(self) -> httpx.Client:
        if self._factory is None or not self._addresses:
            client: httpx.Client = self.session.client
            return client
        address = self._addresses[self._current % len(self._addresses)]
        client = self._clients.get(address) or self._factory(address)
        self._clients[address] = client
        self.session.apply(client)  # the credential (cookie jar, token header) travels along
        return client

    def send(
        self, method: str, path: str, *, total_s: float = 8.0, auth: bool = True, **kwargs: Any
    ) -> Fetched:
        method = method.upper()
        response: Fetched | None = None
        relogged = False
        for _ in range(len(self._addresses) + 2):
            headers = dict(kwargs.get("headers") or {})
            if method in UNSAFE and auth:
                headers = {**self.session.headers_for_write(), **headers}
            call = {**kwargs, "headers": headers}
            response = fetch(self._client(), method, path, total_s=total_s, **call)
            if response.status == 429 and self._addresses:
                self.throttled += 1
                self._current += 1
                continue
            if response.status == 401 and auth and not relogged:
                self.relogin()
                relogged = True
                continue
            return response
        assert response is not None
        return response

    def relogin(self) -> None:
        try:
            self.session.close()
        finally:
            self.session = self._login()
            self.relogins += 1

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self.session.close()
