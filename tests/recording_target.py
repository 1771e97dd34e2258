"""A small third-party app that records every request it receives, for the safety-mode tests.

It is what a live target looks like to a careless scanner: its OpenAPI document lists a
destructive write (``POST /admin/reset-db``), a settings API that stores what it is sent
(``PUT /settings``, ``POST /settings/reset``), an item collection, and its home page loads a
script from a host nobody allow-listed. It runs on a real loopback socket in a thread, so a
separate ``pytest`` process (the suites) can scan it while the test reads the record.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CDN_SCRIPT = "https://cdn.example.com/x.js"

_STRING = {"type": "string", "maxLength": 200}
_SETTINGS = {"type": "object", "properties": {"motd": _STRING, "theme": _STRING}}
_ITEM = {"type": "object", "properties": {"name": _STRING}, "required": ["name"]}


def _op(summary: str, body: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "ok"}}}
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    op.update(extra)
    return op


ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "recording target", "version": "1"},
    "paths": {
        "/settings": {
            "get": _op("read the settings"),
            "put": _op("store the settings (what a stored payload would go through)", _SETTINGS),
        },
        "/settings/reset": {"post": _op("reset every setting to its default")},
        "/admin/reset-db": {"post": _op("drop and rebuild the database")},
        "/items": {"get": _op("list items"), "post": _op("create an item", _ITEM)},
        "/items/{id}": {
            "get": _op("read an item", parameters=ID_PARAM),
            "delete": _op("delete an item", parameters=ID_PARAM),
        },
    },
}

HOME = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Recording target</title>
<script src="{CDN_SCRIPT}"></script></head>
<body><h1>Recording target</h1>
<form method="get" action="/search"><input name="q"><button>Search</button></form>
<a href="/items">items</a></body></html>
"""


@dataclass
class Record:
    """Every request the target received, as ``"METHOD /path"`` (query left out)."""

    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str) -> None:
        with self.lock:
            self.requests.append(f"{method} {path.split('?', 1)[0]}")

    def writes(self) -> list[str]:
        with self.lock:
            return [r for r in self.requests if r.split(" ", 1)[0] in WRITE_METHODS]

    def saw(self, request: str) -> bool:
        with self.lock:
            return request in self.requests


def _handler(record: Record) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            return

        def _reply(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _handle(self) -> None:
            record.add(self.command, self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            if self.command in ("GET", "HEAD") and path in ("/", "/search"):
                self._reply(200, HOME, "text/html; charset=utf-8")
            elif path == "/openapi.json":
                self._reply(200, json.dumps(OPENAPI), "application/json")
            elif path.startswith("/health/"):
                self._reply(200, '{"status": "ok"}', "application/json")
            elif path in ("/settings", "/items") or path.startswith(("/items/", "/admin/")):
                self._reply(200, '{"id": 1, "items": []}', "application/json")
            elif path == "/settings/reset":
                self._reply(200, '{"reset": true}', "application/json")
            else:
                self._reply(404, '{"detail": "not found"}', "application/json")

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    return Handler


@contextmanager
def recording_target() -> Iterator[tuple[str, Record]]:
    """``(base_url, record)`` of a target listening on 127.0.0.1 until the block ends."""
    record = Record()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(record))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", record
    finally:
        server.shutdown()
        server.server_close()
