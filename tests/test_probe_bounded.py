"""Unit tests for harness.probes.bounded: streaming endpoints cannot hang a probe."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.probes.bounded import as_response, fetch
from harness.scope import ScopeGuard, scoped_client


class _Drip(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        kind = "text/event-stream" if self.path == "/events" else "text/plain"
        self.send_header("Content-Type", kind)
        self.end_headers()
        try:
            for _ in range(50):  # one byte every 0.2 s: never trips a per-read timeout
                self.wfile.write(b"data: x\n\n")
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_total_time_bound_on_a_dripping_response():
    with _server() as base, scoped_client(ScopeGuard(["127.0.0.0/8"]), base_url=base) as c:
        started = time.monotonic()
        answer = fetch(c, "GET", "/slow", total_s=1.0)
        assert time.monotonic() - started < 2.5
        assert answer.status == 200 and answer.truncated


def test_event_streams_are_closed_unread():
    with _server() as base, scoped_client(ScopeGuard(["127.0.0.0/8"]), base_url=base) as c:
        started = time.monotonic()
        answer = fetch(c, "GET", "/events", total_s=10.0)
        assert time.monotonic() - started < 1.5
        # Headers kept, no body: no check may judge a stream as a whole document.
        assert answer.status == 200 and answer.streaming and answer.truncated
        assert answer.body == ""


def test_connection_errors_become_status_zero():
    with scoped_client(ScopeGuard(["127.0.0.0/8"])) as client:
        answer = fetch(client, "GET", "http://127.0.0.1:9/", total_s=1.0)
    assert answer.status == 0 and answer.error
    assert as_response(answer).status_code == 599
