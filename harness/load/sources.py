"""A source address of its own for each Locust user, when the target is on loopback.

Targets limit per client address (API and login rate limits), so a hundred users sent from one
address would measure the rate limiter, not the service. On Linux every address of 127.0.0.0/8
is the machine's own, so each user binds its sockets to an address of the load generator's
slots (``harness.loopback``, slots 160-169). geventhttpclient (FastHttpUser's client) has no
source-address option: the pool's socket factory is wrapped once to bind to the address of the
greenlet (one per user) that opens the connection. Imported only inside the Locust process.
"""

from __future__ import annotations

import itertools
from typing import Any

import gevent.local
import gevent.socket
from geventhttpclient.connectionpool import ConnectionPool

from harness.loopback import source, usable

FIRST_SLOT = 160
SLOTS = 10
_local = gevent.local.local()
_counter = itertools.count()
_installed = False


def _create_tcp_socket(self: ConnectionPool, family: int, socktype: int, protocol: int) -> Any:
    sock = gevent.socket.socket(family, socktype, protocol)
    address = getattr(_local, "address", None)
    if address and family == gevent.socket.AF_INET:
        sock.bind((address, 0))
    return sock


def install() -> None:
    global _installed
    if not _installed:
        ConnectionPool._create_tcp_socket = _create_tcp_socket  # type: ignore[method-assign]
        _installed = True


def next_address(host_url: str, worker_index: int) -> str | None:
    """A fresh address for one user (None when the target is not on loopback, or the
    source network is switched off with HARNESS_SOURCE_NETWORK=off)."""
    index = worker_index * 1000 + next(_counter)
    slot = FIRST_SLOT + (index // 255) % SLOTS
    try:
        return usable(source(slot, index % 255 + 1), host_url)
    except ValueError:
        return None


def bind_current(address: str | None) -> None:
    """Sockets the current greenlet opens from now on leave from ``address``."""
    install()
    _local.address = address
