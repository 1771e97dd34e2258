"""A tiny loopback target that misbehaves the way real ones do, for the probes' own tests.

- ``/events`` is a ``text/event-stream`` that sends one event every 2 s and never ends;
- ``/boom`` closes the socket without answering (SO_LINGER 0, a TCP reset), as a server does
  after an unhandled error;
- ``/page`` is a large compressible page (gzip on request, Vary set), with a request-id echo;
- anything else is a small JSON 404.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

PAGE = ("<html><body>" + "<p>hello, compressible world</p>" * 200 + "</body></html>").encode()
EVENT_EVERY_S = 2.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/boom":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if path == "/events":
            self._events()
            return
        if path == "/page":
            body, extra = PAGE, [("Vary", "Accept-Encoding")]
            if "gzip" in (self.headers.get("accept-encoding") or ""):
                body = gzip.compress(PAGE)
                extra.append(("Content-Encoding", "gzip"))
            self._send(200, "text/html; charset=utf-8", body, extra)
            return
        self._send(404, "application/json", json.dumps({"error": "not found"}).encode(), [])

    def _send(self, status: int, kind: str, body: bytes, extra: list[tuple[str, str]]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        rid = self.headers.get("x-request-id")
        if rid:
            self.send_header("X-Request-ID", rid)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True
        try:
            for n in range(30):  # a minute at most, whatever the client does
                time.sleep(EVENT_EVERY_S)
                self.wfile.write(f"data: tick {n}\n\n".encode())
                self.wfile.flush()
        except OSError:
            return  # the client went away: what a bounded reader does


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def flaky_target() -> Iterator[str]:
    """The base URL of a fresh server; stopped on exit (stream threads are daemons)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
