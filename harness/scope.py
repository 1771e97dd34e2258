"""The scope guard: the harness refuses any target outside the profile's allow-list.

The check runs on the URL before a connection is opened, and host names that are not listed
are refused without being resolved, so an out-of-scope target never receives a packet (not even
a DNS query). Every HTTP client the harness makes comes from :func:`scoped_client`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx


class OutOfScope(Exception):
    """A request to a host outside the allow-list was refused before it was sent."""


class ScopeGuard:
    """Allow-list of networks (``127.0.0.0/8``), addresses (``::1``) and exact host names."""

    def __init__(self, allow: Iterable[str]) -> None:
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry.lower().rstrip("."))

    def allows_host(self, host: str) -> bool:
        host = host.strip("[]").lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.names
        return any(address in network for network in self.networks)

    def check(self, url: str | httpx.URL) -> None:
        host = url.host if isinstance(url, httpx.URL) else (urlsplit(str(url)).hostname or "")
        if not host or not self.allows_host(host):
            raise OutOfScope(
                f"refused {url}: host {host or '(none)'!r} is outside the scope allow-list "
                f"({', '.join(self.describe())}); add it to scope.allow in the profile"
            )

    def describe(self) -> list[str]:
        return [str(n) for n in self.networks] + sorted(self.names)


class _GuardedTransport(httpx.BaseTransport):
    def __init__(self, guard: ScopeGuard, inner: httpx.BaseTransport) -> None:
        self._guard = guard
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._guard.check(request.url)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class _AsyncGuardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, guard: ScopeGuard, inner: httpx.AsyncBaseTransport) -> None:
        self._guard = guard
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._guard.check(request.url)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def scoped_client(
    guard: ScopeGuard,
    *,
    verify: bool | str = True,
    local_address: str | None = None,
    transport: httpx.BaseTransport | None = None,
    **kwargs: Any,
) -> httpx.Client:
    """An ``httpx.Client`` whose every request (redirects included) passes the guard first."""
    inner = transport or httpx.HTTPTransport(verify=verify, local_address=local_address)
    kwargs.setdefault("timeout", httpx.Timeout(10.0))
    return httpx.Client(transport=_GuardedTransport(guard, inner), **kwargs)


def scoped_async_client(
    guard: ScopeGuard, *, verify: bool | str = True, **kwargs: Any
) -> httpx.AsyncClient:
    inner = httpx.AsyncHTTPTransport(verify=verify)
    kwargs.setdefault("timeout", httpx.Timeout(10.0))
    return httpx.AsyncClient(transport=_AsyncGuardedTransport(guard, inner), **kwargs)
