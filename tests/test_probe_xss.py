"""Unit tests for harness.probes.xss: escaping check, and execution in Chromium when present."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.probes.browser import browser_context, chromium_path
from harness.probes.xss import find_unescaped, load_and_watch, payloads


def test_payloads_fit_a_length_limit():
    assert all(len(p.value) <= 60 for p in payloads(max_length=60))
    assert payloads(max_length=5) == []


def test_escaped_output_is_not_raw_but_verbatim_output_is():
    payload = payloads()[0]
    escaped = f"<li>{html.escape(payload.value)}</li>"
    raw = f"<li>{payload.value}</li>"
    assert [r.raw for r in find_unescaped(escaped, "/x", [payload])] == [False]
    assert [r.raw for r in find_unescaped(raw, "/x", [payload])] == [True]
    assert find_unescaped("<p>nothing</p>", "/x", [payload]) == []


class _Page(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _serve(body: str) -> Iterator[str]:
    handler = type("Handler", (_Page,), {"body": body.encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine")
def test_chromium_reports_a_payload_that_runs_and_not_one_that_is_escaped():
    payload = payloads()[0]
    with (
        _serve(f"<html><body>{payload.value}</body></html>") as raw_url,
        _serve(f"<html><body>{html.escape(payload.value)}</body></html>") as safe_url,
        browser_context() as context,
    ):
        ran = load_and_watch(context, raw_url, wait_s=0.5)
        safe = load_and_watch(context, safe_url, wait_s=0.3)
    assert payload.id in ran.hits and ran.dialogs
    assert safe.hits == [] and safe.dialogs == []
