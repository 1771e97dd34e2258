"""A small loopback target for the load tests: an OpenAPI document, a fast and a slow read, a
JSON login that sets a cookie, and a read only a logged-in user gets (``/private``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OK = {"200": {"description": "ok"}}
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "load target", "version": "1"},
    "paths": {
        "/fast": {"get": {"responses": OK}},
        "/slow": {"get": {"responses": OK}},
        "/private": {"get": {"responses": OK}},
        "/login": {"post": {"responses": OK}},
    },
}


@dataclass
class LoadTarget:
    url: str
    slow_s: float


@contextmanager
def load_target(slow_s: float = 0.0) -> Iterator[LoadTarget]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/openapi.json":
                self._send(200, OPENAPI)
            elif self.path == "/fast":
                self._send(200, {"ok": True})
            elif self.path == "/slow":
                time.sleep(slow_s)
                self._send(200, {"ok": True})
            elif self.path == "/private":
                signed = "sid=yes" in (self.headers.get("Cookie") or "")
                self._send(200 if signed else 401, {"ok": signed})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/login" and body.get("password") == "pw-1":
                self._send(200, {"user": body.get("username")}, {"Set-Cookie": "sid=yes; Path=/"})
            else:
                self._send(401, {"error": "no"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LoadTarget(url=f"http://127.0.0.1:{server.server_address[1]}", slow_s=slow_s)
    finally:
        server.shutdown()
        server.server_close()
