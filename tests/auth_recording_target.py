"""A small target on loopback that records every request it receives, for the auth adapters.

One threaded HTTP server (standard library) speaks each way of logging in the adapters know:
a form login that answers 200 with a welcome page and a cookie, a JSON login returning a
token that expires, static bearer and API-key headers, an anonymous cookie handed out by
``/``. ``state.requests`` holds every request (method, path, headers) so a test can assert
that each one after the login carried the credential; ``state.reset`` makes the next matching
requests end in a TCP reset, the way a server drops the socket after an unhandled error.
"""

from __future__ import annotations

import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.profile import Profile
from harness.target import Target

PASSWORDS = {"alice": "alice-pass", "bob": "bob-pass"}
STATIC = {"Bearer tok-1": "svc", "key-1": "robot"}
LOGIN_FORM = (
    '<html><body><form method="post" action="/login">'
    '<input type="hidden" name="csrf_token" value="c1">'
    '<input name="username"><input type="password" name="password">'
    "<button>Log in</button></form>{error}</body></html>"
)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    client: str


@dataclass
class RecordingState:
    token_ttl_s: float = 60.0
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)  # sid -> user
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> user, expiry
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    carts: set[str] = field(default_factory=set)
    adopt_carts: bool = False  # the fault: any cart id a client presents becomes its session
    reset: dict[str, int] = field(default_factory=dict)  # "METHOD /path" -> resets left
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def since(self, index: int) -> list[Recorded]:
        return self.requests[index:]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- plumbing --------------------------------------------------------------------------
    def _handle(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with state.lock:
            state.requests.append(
                Recorded(
                    self.command,
                    path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.client_address[0],
                )
            )
            key = f"{self.command} {path}"
            if state.reset.get(key, 0) > 0:
                state.reset[key] -= 1
                self._reset()
                return
        route = getattr(self, "_route_" + path.strip("/").replace("/", "_"), None)
        status, headers, content = (route or self._default)(body)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(content)

    def _reset(self) -> None:
        # SO_LINGER 0: close() sends a RST instead of a FIN, as a crashed worker does.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _cookies(self) -> dict[str, str]:
        out = {}
        for part in (self.headers.get("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                out[name] = value
        return out

    def _user(self) -> str | None:
        state = self.server.state
        sid = self._cookies().get("sid")
        if sid and sid in state.sessions:
            return state.sessions[sid]
        auth = self.headers.get("authorization") or ""
        if auth in STATIC:
            return STATIC[auth]
        if self.headers.get("x-api-key") in STATIC:
            return STATIC[self.headers["x-api-key"]]
        token = auth.removeprefix("Bearer ")
        if token in state.tokens:
            user, expiry = state.tokens[token]
            if time.monotonic() < expiry:
                return user
        return None

    @staticmethod
    def _json(status: int, data: Any, *extra: tuple[str, str]) -> tuple[int, list, bytes]:
        return status, [("Content-Type", "application/json"), *extra], json.dumps(data).encode()

    def _issue_token(self, user: str) -> dict[str, Any]:
        state = self.server.state
        token, refresh = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        state.tokens[token] = (user, time.monotonic() + state.token_ttl_s)
        state.refresh[refresh] = user
        return {"data": {"token": token, "expires_in": state.token_ttl_s}, "refresh_token": refresh}

    # -- routes ----------------------------------------------------------------------------
    def _route_(self, body: bytes) -> tuple[int, list, bytes]:
        headers = [("Content-Type", "text/html")]
        cart = self._cookies().get("cart")
        if cart and self.server.state.adopt_carts:
            self.server.state.carts.add(cart)
        if cart not in self.server.state.carts:
            cart = secrets.token_urlsafe(12)
            self.server.state.carts.add(cart)
            headers.append(("Set-Cookie", f"cart={cart}; Path=/; HttpOnly"))
        return 200, headers, b'<html><body><a href="/page">page</a></body></html>'

    def _route_login(self, body: bytes) -> tuple[int, list, bytes]:
        html = [("Content-Type", "text/html")]
        if self.command == "GET":
            return 200, html, LOGIN_FORM.format(error="").encode()
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        user = form.get("username", "")
        if form.get("csrf_token") != "c1" or PASSWORDS.get(user) != form.get("password"):
            return 200, html, LOGIN_FORM.format(error="<p>Invalid credentials</p>").encode()
        sid = secrets.token_urlsafe(12)
        self.server.state.sessions[sid] = user
        self.server.state.logins += 1
        cookie = ("Set-Cookie", f"sid={sid}; Path=/; HttpOnly")
        return 200, [*html, cookie], f"<html><body>Welcome {user}</body></html>".encode()

    def _route_api_login(self, body: bytes) -> tuple[int, list, bytes]:
        data = json.loads(body or b"{}")
        user = data.get("username", "")
        if PASSWORDS.get(user) != data.get("password"):
            return self._json(401, {"error": "bad credentials"})
        self.server.state.logins += 1
        return self._json(200, self._issue_token(user))

    def _route_api_refresh(self, body: bytes) -> tuple[int, list, bytes]:
        user = self.server.state.refresh.pop(json.loads(body or b"{}").get("refresh_token"), None)
        if user is None:
            return self._json(401, {"error": "bad refresh token"})
        return self._json(200, self._issue_token(user))

    def _route_me(self, body: bytes) -> tuple[int, list, bytes]:
        user = self._user()
        if user is None:
            return self._json(401, {"error": "unauthenticated"})
        return self._json(200, {"user": user})

    def _default(self, body: bytes) -> tuple[int, list, bytes]:
        if self._user() is None and not self._cookies().get("cart"):
            return self._json(401, {"error": "unauthenticated"})
        return self._json(200, {"ok": True})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: RecordingState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def recording_target(
    flow: str, login: dict[str, Any] | None = None, **state: Any
) -> Iterator[tuple[Target, RecordingState]]:
    """A Target (profile ``flow``, ``auth.login`` keys) on a fresh loopback server."""
    recorded = RecordingState(**state)
    server = _Server(recorded)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    port = server.server_address[1]
    profile = Profile.model_validate(
        {
            "name": "recording",
            "target": {"base_url": f"http://127.0.0.1:{port}", "pages": ["/"]},
            "auth": {
                "flow": flow,
                "login_path": "/login",
                "api_login_path": "/api/login",
                "me_path": "/me",
                "session_cookie": "sid",
                "csrf_header": None,
                "users": [
                    {"name": "alice", "password": "alice-pass"},
                    {"name": "svc", "token": "tok-1"},
                    {"name": "robot", "token": "key-1"},
                ],
                "login": login or {},
            },
        }
    )
    try:
        yield Target(profile), recorded
    finally:
        server.shutdown()
        server.server_close()
