"""The browser guard: resolver rules, routed requests, the third-party finding, and no DNS
query for a name outside the allow-list (checked with a resolver the test controls)."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.guard_browser import (
    BlockedRequest,
    chromium_args,
    chromium_path,
    guarded_browser,
    resolver_rules,
    third_party_finding,
)
from harness.scope import ScopeGuard

LOOPBACK = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])
PAGE = (
    b'<html><head><link rel="preconnect" href="https://fonts.example.org">'
    b'<link rel="dns-prefetch" href="//prefetch.example.net">'
    b'<script src="https://cdn.example.com/x.js"></script>'
    b'<script src="http://192.0.2.1/y.js"></script></head><body>page</body></html>'
)
no_chromium = pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine")


def test_resolver_rules_keep_only_the_allow_list():
    rules = resolver_rules(ScopeGuard(["127.0.0.0/8", "::1", "app.example", "10.1.0.0/23"]))
    assert rules.startswith("MAP * ~NOTFOUND, ")
    for excluded in ("127.*", "[::1]", "app.example", "10.1.0.*", "10.1.1.*"):
        assert f"EXCLUDE {excluded}" in rules
    assert "10.1.2.*" not in rules
    args = chromium_args(LOOPBACK)
    assert "--disable-background-networking" in args and "--disable-quic" in args
    assert "--disable-component-update" in args and "--disable-sync" in args


def test_an_allow_list_of_everything_sets_no_rule():
    assert resolver_rules(ScopeGuard(["0.0.0.0/0"])) == ""


def test_the_finding_names_each_page_and_what_it_tried_to_load():
    assert third_party_finding([], "SEC-06") is None
    blocked = [
        BlockedRequest(
            url="https://cdn.example.com/x.js",
            host="cdn.example.com",
            resource_type="script",
            page="http://127.0.0.1:8/",
        ),
    ]
    finding = third_party_finding(blocked, "SEC-06")
    assert finding is not None and finding.cwe == 829 and finding.control == "SEC-06"
    assert "http://127.0.0.1:8/ -> https://cdn.example.com/x.js" in (finding.evidence or "")


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _serve() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@no_chromium
def test_third_party_requests_are_blocked_and_recorded_with_their_page():
    with _serve() as url, guarded_browser(LOOPBACK) as browser:
        page = browser.new_page()
        page.goto(url, wait_until="load", timeout=15_000)
        page.wait_for_timeout(300)
    blocked = {(b.url, b.page, b.resource_type) for b in browser.blocked}
    assert ("https://cdn.example.com/x.js", url, "script") in blocked
    assert ("http://192.0.2.1/y.js", url, "script") in blocked  # an address, not a name
    assert page.url == url  # the allow-listed page itself loaded


LOAD_UNDER_RECORDER = textwrap.dedent(
    """
    import json, socket, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from harness.guard_browser import guarded_browser
    from harness.scope import ScopeGuard

    try:  # positive control: a lookup of this process reaches the recorder
        socket.getaddrinfo("canary.recorder.test", 80)
    except OSError:
        pass
    PAGE = sys.argv[2].encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    allow = ["127.0.0.0/8", "::1", "localhost", *sys.argv[1].split(",")]
    with guarded_browser(ScopeGuard([a for a in allow if a])) as browser:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/", wait_until="load")
        page.wait_for_timeout(1500)
    print(json.dumps(sorted({b.host for b in browser.blocked})))
    """
)


@no_chromium
@pytest.mark.parametrize("also_allowed", ["", "cdn.example.com"])
def test_chromium_makes_no_dns_query_outside_the_allow_list(tmp_path, also_allowed):
    """With the allow-list only loopback, no name of the page reaches the resolver; the
    positive control allows cdn.example.com and its query must arrive (Chromium's lookups do
    reach the recorder, so silence means the rules held)."""
    from dns_recorder import can_run, recorder, run_with_resolver

    if reason := can_run():
        pytest.skip(reason)
    with recorder() as dns:
        done = run_with_resolver(
            dns,
            [sys.executable, "-c", LOAD_UNDER_RECORDER, also_allowed, PAGE.decode()],
            tmp_path,
            90,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    blocked = json.loads(done.stdout.strip().splitlines()[-1])
    assert "canary.recorder.test" in dns.queries
    allowed = ScopeGuard([*LOOPBACK.describe(), *([also_allowed] if also_allowed else [])])
    outside = {q for q in dns.queries if q != "canary.recorder.test" and not allowed.allows_host(q)}
    assert not outside, f"DNS queries outside the allow-list: {sorted(outside)}"
    if also_allowed:
        assert also_allowed in dns.queries  # the positive control
        assert also_allowed not in blocked
    else:
        assert "cdn.example.com" in blocked
