"""OPS-06: requests in flight when the app gets SIGTERM must still be answered.

Counting on a slow route to still be running when the signal lands is a race a loaded machine
loses (too few requests in flight at SIGTERM: the fault slips through). So the drill holds the
requests in flight itself: it opens many connections to a route that reads a JSON body before
it answers, sends the headers with ``Expect: 100-continue`` and waits for the server's
``100 Continue`` (the app has the request and is reading its body: it is in flight), sends
SIGTERM, waits until the server shows it is shutting down (its listener refuses new
connections, or it drops the held ones), and only then sends the bodies. A graceful server
finishes every one of them; one that exits at once resets them. Any reset, close without an
answer or 5xx of a held request is a dropped request.

Every connection goes through :func:`harness.scope.open_connection`, so the egress guard
decides before a packet leaves.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field

from harness.scope import ScopeGuard, open_connection

Outcome = Literal["answered", "reset", "closed", "timeout", "refused"]


class Held(BaseModel):
    index: int
    confirmed: bool = Field(default=False, description="the server asked for the body")
    early: bool = Field(default=False, description="answered before SIGTERM: not in flight")
    outcome: Outcome | None = None
    status: int | None = None
    error: str | None = None
    sent_s: float = 0.0
    ended_s: float | None = None

    @property
    def dropped(self) -> bool:
        return self.outcome != "answered" or (self.status or 0) >= 500


class ShutdownResult(BaseModel):
    held: list[Held]
    shutdown_seen_s: float | None = Field(
        default=None, description="SIGTERM to the server refusing new connections"
    )
    stop_s: float | None = None
    stop_error: str | None = None

    @property
    def sent(self) -> list[Held]:
        """Requests whose headers reached the server and that it did not answer early."""
        return [h for h in self.held if not h.early and h.outcome != "refused"]

    @property
    def confirmed(self) -> list[Held]:
        return [h for h in self.sent if h.confirmed]

    @property
    def in_flight(self) -> list[Held]:
        """Requests that were with the server when SIGTERM was sent: the confirmed ones when
        the server answers ``100 Continue`` (one still in its accept queue on a loaded machine
        could be refused by a graceful server too, so it is not judged), else every one sent."""
        return self.confirmed or self.sent

    @property
    def unjudged(self) -> list[Held]:
        return [h for h in self.sent if h not in self.in_flight]

    @property
    def dropped(self) -> list[Held]:
        return [h for h in self.in_flight if h.dropped]


class _Conn:
    def __init__(self, sock: socket.socket, held: Held) -> None:
        self.sock = sock
        self.held = held
        self.buffer = b""


def _connect(guard: ScopeGuard, url: str, verify: bool | str, timeout: float) -> socket.socket:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = open_connection(guard, host, port, timeout)
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=host)
    return sock


def _head(method: str, url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    host = urlsplit(url).netloc
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Expect: 100-continue",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _status(buffer: bytes) -> int | None:
    """The final status of what the server sent (100 Continue skipped); None while partial."""
    while buffer.startswith(b"HTTP/1.1 100") or buffer.startswith(b"HTTP/1.0 100"):
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        buffer = buffer[end + 4 :]
    line, sep, _ = buffer.partition(b"\r\n")
    if not sep:
        return None
    try:
        return int(line.split()[1])
    except (IndexError, ValueError):
        return None


def _listener_refuses(guard: ScopeGuard, url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        probe = open_connection(guard, host, port, 1.0)
    except OSError:
        return True
    probe.close()
    return False


def drill(
    guard: ScopeGuard,
    url: str,
    operation: str,
    *,
    sigterm: Callable[[], None],
    count: int,
    verify: bool | str = True,
    headers: dict[str, str] | None = None,
    confirm_s: float = 20.0,
    shutdown_s: float = 30.0,
    answer_s: float = 25.0,
    clock: Callable[[], float] = time.monotonic,
) -> ShutdownResult:
    """Hold ``count`` requests of ``operation`` ('METHOD /path') in flight, call ``sigterm``
    (in a thread: a graceful stop waits for them), then let them finish and see how each ended.
    """
    method, _, path = operation.partition(" ")
    # Scope, scope.exclude and the safety mode judge the request before any socket opens.
    guard.check_request(method.upper(), httpx.URL(url.rstrip("/") + path.strip()))
    t0 = clock()
    # Any JSON will do: the answer (201, 401, 422...) only has to arrive, below 500.
    body = json.dumps({"probe": "in-flight request over SIGTERM"}).encode()
    conns: list[_Conn] = []
    for i in range(count):
        held = Held(index=i, sent_s=round(clock() - t0, 3))
        try:
            sock = _connect(guard, url, verify, 5.0)
            sock.sendall(_head(method.upper(), url, path.strip(), body, headers or {}))
        except OSError as exc:
            held.outcome, held.error = "refused", f"{type(exc).__name__}: {exc}"[:200]
            conns.append(_Conn(socket.socket(), held))
            continue
        sock.setblocking(False)
        conns.append(_Conn(sock, held))
    live = [c for c in conns if c.held.outcome is None]

    # Wait for each server to ask for its body (100 Continue): the request is in the app.
    deadline = clock() + confirm_s
    waiting = list(live)
    while waiting and clock() < deadline:
        readable, _, _ = select.select([c.sock for c in waiting], [], [], 0.2)
        for c in [c for c in waiting if c.sock in readable]:
            _read_into(c)
            if c.buffer.startswith(b"HTTP/1.1 100") or c.buffer.startswith(b"HTTP/1.0 100"):
                c.held.confirmed = True
                c.buffer = (
                    c.buffer[c.buffer.find(b"\r\n\r\n") + 4 :] if b"\r\n\r\n" in c.buffer else b""
                )
            if c.buffer or c.held.outcome:
                # Answered before the body was sent: the route does not wait for it.
                c.held.early = True
            waiting.remove(c)

    result = ShutdownResult(held=[c.held for c in conns])
    stopper_error: list[str] = []
    stop_started = clock()

    def stop() -> None:
        try:
            sigterm()
        except Exception as exc:  # noqa: BLE001 - reported as the drill's note
            stopper_error.append(f"{type(exc).__name__}: {exc}"[:300])

    thread = threading.Thread(target=stop, name="sigterm", daemon=True)
    thread.start()
    # Send the bodies only once the server shows it is shutting down, so every held request
    # really was in flight when the signal landed.
    # A container engine may take seconds to deliver the signal on a loaded machine.
    seen_deadline = clock() + shutdown_s
    while clock() < seen_deadline:
        gone = not thread.is_alive() and not stopper_error
        if gone or _listener_refuses(guard, url) or any(_dropped_now(c) for c in live):
            result.shutdown_seen_s = round(clock() - stop_started, 3)
            break
        time.sleep(0.05)
    for c in live:
        if c.held.outcome is not None or c.held.early:
            continue
        try:
            c.sock.setblocking(True)
            c.sock.settimeout(5.0)
            c.sock.sendall(body)
            c.sock.setblocking(False)
        except OSError as exc:
            c.held.outcome = "reset"
            c.held.error = f"sending the body: {type(exc).__name__}: {exc}"[:200]
            c.held.ended_s = round(clock() - t0, 3)
    _collect([c for c in live if c.held.outcome is None], answer_s, clock, t0)
    thread.join(timeout=answer_s + 30)
    result.stop_s = round(clock() - stop_started, 3)
    result.stop_error = stopper_error[0] if stopper_error else None
    for c in conns:
        c.sock.close()
    return result


def _read_into(c: _Conn) -> None:
    try:
        chunk = c.sock.recv(65536)
    except BlockingIOError:
        return
    except OSError as exc:
        c.held.outcome, c.held.error = "reset", f"{type(exc).__name__}: {exc}"[:200]
        return
    if not chunk:
        if c.held.outcome is None and _status(c.buffer) is None:
            c.held.outcome = "closed"
        return
    c.buffer += chunk


def _dropped_now(c: _Conn) -> bool:
    """Whether a held connection was reset or closed (the server went away)."""
    if c.held.outcome is not None:
        return c.held.outcome in ("reset", "closed")
    readable, _, _ = select.select([c.sock], [], [], 0)
    if readable:
        _read_into(c)
    return c.held.outcome in ("reset", "closed")


def _collect(conns: list[_Conn], within_s: float, clock: Callable[[], float], t0: float) -> None:
    deadline = clock() + within_s
    pending = list(conns)
    while pending and clock() < deadline:
        readable, _, _ = select.select([c.sock for c in pending], [], [], 0.2)
        for c in [c for c in pending if c.sock in readable]:
            _read_into(c)
            status = _status(c.buffer)
            if status is not None:
                c.held.outcome, c.held.status = "answered", status
            if c.held.outcome is not None:
                c.held.ended_s = round(clock() - t0, 3)
                pending.remove(c)
    for c in pending:
        c.held.outcome, c.held.ended_s = "timeout", round(clock() - t0, 3)
