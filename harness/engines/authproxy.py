"""A loopback reverse proxy that keeps a scanner logged in.

Scanners log in once; targets with short idle and absolute session lifetimes (seconds on the
reference profile) log them out mid-scan and the rest of the scan sees only login redirects.
The proxy forwards every request to the target with the live credential of its own session
(the session cookie, or the bearer / API-key header of a token flow) and its CSRF header, logs
in again when the target answers 401 (or the session is old), and rewrites the target's origin
to its own in Location headers and text bodies so the scanner stays on the proxy. Requests
leave from a chosen loopback address so the scanner's burst is rate limited on its own budget.

It is also the scanner's egress guard: the scanner is pointed at it as its HTTP proxy too, so
a request in absolute form for any other host (an out-of-band callback, an update check) and
every CONNECT tunnel is refused before anything is sent, and recorded in ``refused``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.scope import ScopeGuard

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
    "host",
    "cookie",
    "accept-encoding",
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class AuthProxy:
    """``with AuthProxy(target_base, login, client_factory=...) as proxy: scan(proxy.url)``.

    ``login`` makes sessions (from its own source address); ``client_factory`` makes the one
    client that forwards the scanner's traffic (from another address), so a scanner hammering
    the login routes cannot get the proxy's own logins throttled.
    """

    def __init__(
        self,
        target_base: str,
        login: Callable[[], Any] | None,
        *,
        max_session_age_s: float = 20.0,
        request_timeout_s: float = 10.0,
        client_factory: Callable[[], httpx.Client] | None = None,
        guard: ScopeGuard | None = None,
        read_only: bool = False,
    ) -> None:
        if guard is not None:
            guard.check(target_base)
        self.target_base = target_base.rstrip("/")
        self.guard = guard
        self.refused: list[str] = []
        self.read_only = read_only
        self._login = login
        self._max_age = max_session_age_s
        self._timeout = request_timeout_s
        self._client_factory = client_factory
        self._lock = threading.Lock()
        self._session: Any = None
        self._session_born = 0.0
        self.relogins = 0
        self.requests = 0
        self.failures = 0
        self.last_error: str | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._retired: list[Any] = []
        self._shared: httpx.Client | None = None

    # -- session -----------------------------------------------------------------------------
    def _current(self, force: bool = False) -> Any:
        """The live session; a new login when it is old or was refused. A failed login keeps
        the previous session (the target may be throttling logins for a moment)."""
        with self._lock:
            stale = time.monotonic() - self._session_born > self._max_age
            if self._login is not None and (self._session is None or force or stale):
                try:
                    fresh = self._login()
                except Exception as exc:
                    if self._session is None:
                        raise
                    self.last_error = f"login: {type(exc).__name__}: {str(exc)[:200]}"
                    self._session_born = time.monotonic() - self._max_age / 2  # retry soon
                    return self._session
                if self._session is not None:
                    # Other threads may still be sending with it: closed at exit, not now.
                    self._retired.append(self._session)
                self._session = fresh
                self._session_born = time.monotonic()
                self.relogins += 1
            return self._session

    def _forwarder(self) -> httpx.Client:
        """One shared client from the factory (its own source address), made on first use."""
        with self._lock:
            if self._shared is None:
                assert self._client_factory is not None
                self._shared = self._client_factory()
            return self._shared

    def _client(self, session: Any) -> tuple[httpx.Client, dict[str, str]]:
        """The client to send with, and the headers that carry the session's credential."""
        if self._client_factory is None:
            if session is None:
                raise RuntimeError("AuthProxy needs a login or a client factory")
            client: httpx.Client = session.client
            return client, {}
        if session is None:
            return self._forwarder(), {}
        # Whatever the credential is: the cookie jar, and the token headers of header flows
        # (``session.headers`` renews an expiring token first, so a long scan stays logged in).
        credential = dict(session.headers)
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.client.cookies.jar)
        if cookies:
            credential["Cookie"] = cookies
        return self._forwarder(), credential

    # -- forwarding --------------------------------------------------------------------------
    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        self.requests += 1
        try:
            return self._forward(method, path, headers, body)
        except Exception as exc:  # noqa: BLE001 - a failed login must not kill the connection
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return 502, [("Content-Type", "text/plain")], f"proxy: {self.last_error}".encode()

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in range(2):
            session = self._current(force=attempt == 1)
            client, credential = self._client(session)
            # The scanner's own copy of a credential header is dropped: the session's wins.
            names = {name.lower() for name in credential}
            out = {
                k: v
                for k, v in headers.items()
                if k.lower() not in HOP_BY_HOP and k.lower() not in names
            }
            out.update(credential)
            # The scanner's Origin/Referer name the proxy; the target's same-origin checks
            # must see its own origin, as they would for a browser on the real site.
            for name in [k for k in out if k.lower() in ("origin", "referer")]:
                out[name] = out[name].replace(self.url, self.target_base)
            if method in UNSAFE and session is not None:
                out.update(session.headers_for_write())
            try:
                response = client.request(
                    method,
                    self.target_base + path,
                    headers=out,
                    content=body or None,
                    timeout=self._timeout,
                )
            except httpx.HTTPError as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                return 502, [("Content-Type", "text/plain")], f"proxy: {exc}".encode()
            if response.status_code != 401 or session is None or attempt == 1:
                break
        headers_out = [
            (k, self._rewrite(v))
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "set-cookie"
        ]
        content = response.content
        kind = response.headers.get("content-type", "")
        if kind.startswith(("text/", "application/json", "application/javascript")):
            content = self._rewrite_bytes(content, response.encoding or "utf-8")
        return response.status_code, headers_out, content

    def _rewrite(self, text: str) -> str:
        return text.replace(self.target_base, self.url) if self._server else text

    def _rewrite_bytes(self, data: bytes, encoding: str) -> bytes:
        return self._rewrite(data.decode(encoding, errors="replace")).encode()

    def route(self, method: str, request_target: str) -> str | None:
        """The path to forward for a request line, or None when it is refused (and recorded).

        Origin form (``/path``) is the scanner talking to the proxy as its target; absolute
        form names a host, and only the proxy's own address is forwarded (to the target).
        """
        if method == "CONNECT":
            self._refuse(f"CONNECT {request_target}: tunnels are not forwarded")
            return None
        path: str | None = None
        if request_target.startswith("/"):
            path = request_target
        parts = urlsplit(request_target)
        if parts.scheme in ("http", "https") and f"http://{parts.netloc}" == self.url:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if path is not None:
            if self.read_only and method in UNSAFE:
                self._refuse(f"{method} {path}: safe mode sends no state-changing request")
                return None
            return path
        host = parts.hostname or ""
        where = "outside the scope allow-list"
        if self.guard is not None and self.guard.allows_host(host):
            where = "not the target"
        self._refuse(f"{method} {request_target}: {host or '(no host)'} is {where}")
        return None

    def _refuse(self, line: str) -> None:
        with self._lock:
            if len(self.refused) < 200:
                self.refused.append(line)

    # -- server ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "proxy not started"
        address = self._server.server_address
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        return f"http://{host}:{address[1]}"

    def __enter__(self) -> AuthProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = proxy.route(self.command, self.path)
                if path is None:
                    status, headers, content = (
                        403,
                        [("Content-Type", "text/plain")],
                        b"refused by the harness egress guard",
                    )
                else:
                    status, headers, content = proxy.forward(
                        self.command, path, {k: v for k, v in self.headers.items()}, body
                    )
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle
            do_CONNECT = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # the scanner's own log is the record

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for session in [*self._retired, self._session]:
            if session is not None:
                with contextlib.suppress(Exception):
                    session.close()
        if self._shared is not None:
            self._shared.close()
