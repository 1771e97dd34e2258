"""Readiness probes: real protocol checks, never "the port is open".

HTTP probes go through the scope guard like every other request the harness makes; https
probes verify the certificate against the run's own CA, so a probe passing also proves the
TLS set-up is what clients will see.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from harness.scope import ScopeGuard, open_connection, scoped_client
from harness.stack.definition import HealthCheck

LOOPBACK_SCOPE = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])


def health_scope(listen: str) -> ScopeGuard:
    """Loopback, plus the address the profile has the front end listen on (``listen``)."""
    if ipaddress.ip_address(listen).is_loopback:
        return LOOPBACK_SCOPE
    return ScopeGuard(["127.0.0.0/8", "::1", "localhost", listen])


class ProbeFailed(Exception):
    """One probe attempt failed; the message says how (kept for the timeout error)."""


def probe(
    check: HealthCheck,
    url: str,
    *,
    guard: ScopeGuard = LOOPBACK_SCOPE,
    ca_bundle: str | None = None,
    timeout: float = 2.0,
) -> None:
    """Run one attempt of ``check`` against ``url``; raise ProbeFailed when not ready."""
    guard.check(url)  # even a datastore probe must not leave the allow-list
    if check.type == "none":
        return
    if check.type in ("http", "https"):
        _probe_http(check, url, guard=guard, ca_bundle=ca_bundle, timeout=timeout)
    elif check.type == "postgres":
        _probe_postgres(url, timeout)
    elif check.type == "redis":
        _probe_redis(url, timeout)
    elif check.type == "tcp":
        _connect(url, timeout).close()


def _probe_http(
    check: HealthCheck, url: str, *, guard: ScopeGuard, ca_bundle: str | None, timeout: float
) -> None:
    verify: bool | str = ca_bundle if (check.type == "https" and ca_bundle) else True
    try:
        with scoped_client(guard, verify=verify, timeout=httpx.Timeout(timeout)) as client:
            response = client.get(url.rstrip("/") + check.path)
    except httpx.HTTPError as exc:
        raise ProbeFailed(f"GET {check.path}: {type(exc).__name__}: {exc}") from None
    if response.status_code not in check.status:
        raise ProbeFailed(f"GET {check.path}: HTTP {response.status_code}: {response.text[:200]}")


# The stack's own services listen on loopback only.
_LOOPBACK = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])


def _connect(url: str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port
    if port is None:
        raise ProbeFailed(f"{url}: no port")
    try:
        return open_connection(_LOOPBACK, host, port, timeout)
    except OSError as exc:
        raise ProbeFailed(f"connect {host}:{port}: {exc}") from None


def _probe_redis(url: str, timeout: float) -> None:
    with _connect(url, timeout) as sock:
        try:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
        except OSError as exc:
            raise ProbeFailed(f"PING: {exc}") from None
    if not reply.startswith(b"+PONG"):
        raise ProbeFailed(f"PING answered {reply!r}")


def _probe_postgres(url: str, timeout: float) -> None:
    import psycopg  # local: only stacks with PostgreSQL need the driver

    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as connection:
            connection.execute("select 1").fetchone()
    except psycopg.Error as exc:
        raise ProbeFailed(f"select 1: {str(exc).strip().splitlines()[0]}") from None
