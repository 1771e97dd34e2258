"""The scope guard: the harness refuses any target outside the profile's allow-list.

The check runs on the URL before a connection is opened, and host names that are not listed
are refused without being resolved, so an out-of-scope target never receives a packet (not even
a DNS query). Every HTTP client the harness makes comes from :func:`scoped_client` (or its
async twin), and every raw socket from :func:`open_connection`; a test forbids the bare forms
anywhere else. A guard built with a :class:`~harness.safety.SafetyPolicy` also applies the
profile's safety mode and ``scope.exclude`` to every request, before it is sent.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.safety import SafetyPolicy


class OutOfScope(Exception):
    """A request to a host outside the allow-list was refused before it was sent."""


class ScopeGuard:
    """Allow-list of networks (``127.0.0.0/8``), addresses (``::1``) and exact host names."""

    def __init__(self, allow: Iterable[str], policy: SafetyPolicy | None = None) -> None:
        # No policy: scope only (the stack's own health checks, the CLI's preflight).
        self.policy = policy
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

    def check_request(self, method: str, url: httpx.URL) -> float:
        """Scope, then ``scope.exclude`` and the safety mode; returns the pacing delay (s)."""
        self.check(url)
        if self.policy is None:
            return 0.0
        self.policy.check(method, url)
        return self.policy.delay()

    def describe(self) -> list[str]:
        return [str(n) for n in self.networks] + sorted(self.names)


class _GuardedTransport(httpx.BaseTransport):
    def __init__(self, guard: ScopeGuard, inner: httpx.BaseTransport) -> None:
        self._guard = guard
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = self._guard.check_request(request.method, request.url)
        if wait > 0:
            time.sleep(wait)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class _AsyncGuardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, guard: ScopeGuard, inner: httpx.AsyncBaseTransport) -> None:
        self._guard = guard
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wait = self._guard.check_request(request.method, request.url)
        if wait > 0:
            await asyncio.sleep(wait)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# Client arguments that would route requests around the guarded transport: httpx sends a
# request through a matching mount (or a proxy's mount) instead of ``transport``.
_BYPASS = ("mounts", "proxy", "proxies", "app")


def _refuse_bypass(kwargs: dict[str, Any]) -> None:
    bad = [name for name in _BYPASS if kwargs.get(name) is not None]
    if bad:
        raise TypeError(
            f"scoped client: {', '.join(bad)}= would bypass the scope guard; pass an inner "
            "transport= instead (it is wrapped by the guard)"
        )
    # trust_env only matters without a transport; ours always has one, so env proxies never
    # apply. Say so explicitly rather than rely on it.
    kwargs["trust_env"] = False


def tls_context(verify: bool | str) -> ssl.SSLContext:
    """The TLS context for ``verify`` (a CA bundle path, or True for the default bundle), built
    once per process: loading a bundle costs 40 ms on an idle machine and 200 ms on a busy one,
    and a run builds clients by the hundred (one per readiness poll after every restart).

    A bundle file is keyed by its modification time too, so a regenerated CA is read again.
    Sharing the context is safe: the transports only ever set HTTP/1.1 on it.
    """
    if isinstance(verify, str):
        return _context((verify, os.stat(verify).st_mtime_ns))
    return _context(verify)


@functools.lru_cache(maxsize=16)
def _context(key: bool | tuple[str, int]) -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=key[0] if isinstance(key, tuple) else key)


def scoped_client(
    guard: ScopeGuard,
    *,
    verify: bool | str = True,
    local_address: str | None = None,
    transport: httpx.BaseTransport | None = None,
    **kwargs: Any,
) -> httpx.Client:
    """An ``httpx.Client`` whose every request (redirects included) passes the guard first.

    ``transport`` is the inner transport (tests pass a ``MockTransport``); the guard wraps it.
    """
    _refuse_bypass(kwargs)
    inner = transport or httpx.HTTPTransport(
        verify=tls_context(verify), local_address=local_address
    )
    kwargs.setdefault("timeout", httpx.Timeout(10.0))
    return httpx.Client(transport=_GuardedTransport(guard, inner), **kwargs)


def scoped_async_client(
    guard: ScopeGuard,
    *,
    verify: bool | str = True,
    local_address: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """The async twin of :func:`scoped_client`."""
    _refuse_bypass(kwargs)
    inner = transport or httpx.AsyncHTTPTransport(
        verify=tls_context(verify), local_address=local_address
    )
    kwargs.setdefault("timeout", httpx.Timeout(10.0))
    return httpx.AsyncClient(transport=_AsyncGuardedTransport(guard, inner), **kwargs)


def open_connection(guard: ScopeGuard, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection (for TLS handshakes, port checks) to a host the guard allows."""
    if not guard.allows_host(host):
        raise OutOfScope(
            f"refused {host}:{port}: outside the scope allow-list ({', '.join(guard.describe())}); "
            "add it to scope.allow in the profile"
        )
    return socket.create_connection((host, port), timeout=timeout)
