"""harness.probes.gzip against a small local server that compresses (or not) on request."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from harness.probes import gzip as gz

BIG = b'{"items": [' + b",".join(b'{"n": %d}' % i for i in range(300)) + b"]}"


class _Handler(BaseHTTPRequestHandler):
    """Serves BIG (JSON) at any path; query flags switch the server's behaviour."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        flags = parse_qs(url.query)
        body = BIG if "small" not in flags else b'{"a": 1}'
        content_type = flags.get("type", ["application/json"])[0]
        accepts = "gzip" in self.headers.get("accept-encoding", "")
        self.send_response(200)
        self.send_header("content-type", content_type)
        if "plain" not in flags and accepts and len(body) >= 500:
            self.send_header("content-encoding", "gzip")
            if "novary" not in flags:
                self.send_header("vary", "Accept-Encoding")
            body = body if "fake" in flags else gzip.compress(body)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}") as c:
        yield c
    server.shutdown()


def test_compressed_json_passes(client: httpx.Client) -> None:
    result = gz.check(client, "/big", 1024)
    assert result.applies and result.ok, result.problems
    assert result.encoding == "gzip" and result.wire_bytes < result.plain_bytes


def test_uncompressed_fails(client: httpx.Client) -> None:
    result = gz.check(client, "/big?plain=1", 1024)
    assert result.applies and not result.ok
    assert "Content-Encoding None" in result.problems[0]


def test_missing_vary_fails(client: httpx.Client) -> None:
    result = gz.check(client, "/big?novary=1", 1024)
    assert any("Vary" in p for p in result.problems)


def test_fake_gzip_fails(client: httpx.Client) -> None:
    result = gz.check(client, "/big?fake=1", 1024)
    assert any("not gzip" in p for p in result.problems)


def test_small_and_binary_responses_do_not_apply(client: httpx.Client) -> None:
    small = gz.check(client, "/small?small=1&plain=1", 1024)
    assert not small.applies and small.ok
    png = gz.check(client, "/img?plain=1&type=image/png", 1024)
    assert not png.applies and png.ok


def test_compressible_types() -> None:
    assert gz.compressible("text/html; charset=utf-8")
    assert gz.compressible("application/vnd.api+json")
    assert not gz.compressible("image/png")
