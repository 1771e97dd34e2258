"""A tiny target the harness did not start, for the rollback drill (OPS-02) on ``external``
profiles: it answers as the release named in ``STATE/release`` (re-read on every request, so a
deploy or rollback command only rewrites that file), and a release listed with ``--broken``
answers 503 to everything (a deploy that breaks).

Routes: GET /health/live and /health/ready; GET /version ({"release": ...}); GET /me and
POST /items need ``Authorization: Bearer t0ken``; GET /items/{id}; GET /openapi.json.

Run: python tests/release_target.py PORT STATE [--broken RELEASE]...
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from openapi_docs import json_body  # this script's folder is on sys.path

TOKEN = "t0ken"
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "release target", "version": "1"},
    "paths": {
        "/items": {
            "post": {
                "requestBody": json_body({"name": {"type": "string"}}, required=["name"]),
                "responses": {"201": {"description": "created"}},
            }
        }
    },
}


class State:
    def __init__(self, folder: Path, broken: set[str]) -> None:
        self.file = folder / "release"
        self.broken = broken
        self.items: set[int] = set()
        self.lock = threading.Lock()

    def release(self) -> str:
        return self.file.read_text(encoding="utf-8").strip()


def handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:  # quiet: the test reads the harness's record
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {TOKEN}"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            release = state.release()
            if release in state.broken and self.path != "/openapi.json":
                return self._answer(503, {"error": f"release {release} is broken"})
            if self.path == "/openapi.json":
                return self._answer(200, OPENAPI)
            if self.path.startswith("/health/"):
                return self._answer(200, {"status": "UP"})
            if self.path == "/version":
                return self._answer(200, {"release": release})
            if self.path == "/me":
                return self._answer(200 if self._authorised() else 401, {"name": "alice"})
            if self.path.startswith("/items/"):
                ident = self.path.rsplit("/", 1)[1]
                found = ident.isdigit() and int(ident) in state.items
                return self._answer(200 if found else 404, {"id": ident})
            return self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            release = state.release()
            if release in state.broken:
                return self._answer(503, {"error": f"release {release} is broken"})
            if self.path != "/items":
                return self._answer(404, {"error": "not found"})
            if not self._authorised():
                return self._answer(401, {"error": "login"})
            with state.lock:
                ident = len(state.items) + 1
                state.items.add(ident)
            return self._answer(201, {"id": ident})

    return Handler


def main(argv: list[str]) -> None:
    port, folder = int(argv[0]), Path(argv[1])
    broken = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--broken"}
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(State(folder, broken)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
