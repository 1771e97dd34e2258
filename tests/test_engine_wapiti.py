"""The wapiti adapter: report parsing (a real wapiti 3.2.3 report of the reference app with
the ``sqli_search`` fault, trimmed), the command line, and the session-keeping proxy."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from harness.engines import wapiti
from harness.engines.authproxy import AuthProxy
from harness.engines.wapiti import (
    DEFAULT_MODULES,
    PASSIVE_MODULES,
    Plan,
    command,
    is_transient,
    parse_report,
)
from harness.findings import Severity
from harness.guard_process import ProcessGuard, ToolRun, namespace_available
from harness.scope import ScopeGuard, scoped_client

DATA = Path(__file__).parent / "data" / "wapiti"


def test_report_is_normalised():
    run = parse_report(json.loads((DATA / "sqli_search_report.json").read_text()))
    failing = run.failing()
    assert failing, "the 500 wapiti provoked with its SQL payload must fail SEC-14"
    first = failing[0]
    assert first.engine == "wapiti" and first.rule.startswith("wapiti:")
    assert first.parameter == "q" and first.url and "/api/v1/tracks" in first.url
    assert first.severity.rank >= Severity.MEDIUM.rank


def test_command_is_offline_safe_and_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr("harness.engines.wapiti.wapiti_binary", lambda: "/bin/wapiti")
    plan = Plan.for_budget(20, DEFAULT_MODULES)
    argv = command(
        "http://127.0.0.1:9/",
        tmp_path / "o.json",
        tmp_path,
        plan=plan,
        modules=DEFAULT_MODULES,
        openapi_url="http://127.0.0.1:9/openapi.json",
        proxy_url="http://127.0.0.1:9",
    )
    modules = argv[argv.index("-m") + 1].split(",")
    assert modules == DEFAULT_MODULES
    assert not {"ssl", "ssrf", "xxe", "log4shell", "nikto", "brute_login_form"} & set(modules)
    # The crawl and the modules share the budget, with room left to write the report.
    assert float(argv[argv.index("--max-scan-time") + 1]) == 5.0
    attacking = [m for m in modules if m not in PASSIVE_MODULES]
    assert plan.crawl_s + plan.module_s * len(attacking) <= 0.9 * 20
    assert "--flush-session" in argv and argv[argv.index("-f") + 1] == "json"
    # Egress: no crash upload, the DNS endpoint an address (no lookup), callbacks on
    # loopback, all traffic through the guarded proxy.
    assert "--no-bugreport" in argv and "--update" not in argv
    assert argv[argv.index("--dns-endpoint") + 1] == "127.0.0.1"
    guard = ScopeGuard(["127.0.0.0/8"])
    for flag in ("--endpoint", "--external-endpoint", "-p"):
        guard.check(argv[argv.index(flag) + 1])


def test_passive_modules_send_no_attack():
    assert set(PASSIVE_MODULES) <= {"http_headers", "cookieflags", "csp", "https_redirect"}


def test_transient_failures_are_told_from_the_budget_and_from_a_finished_scan():
    def tool(rc: int | None, out: str = "", timed_out: bool = False) -> ToolRun:
        return ToolRun(
            argv=[], returncode=rc, output=out, timed_out=timed_out, containment="proxy-only"
        )

    locked = "sqlite3.OperationalError: database is locked"
    assert is_transient(tool(1, locked), wrote_report=False)
    assert is_transient(tool(-11), wrote_report=False)  # crashed on a signal
    assert not is_transient(tool(1, locked), wrote_report=True)
    assert not is_transient(tool(-15, timed_out=True), wrote_report=False)
    assert not is_transient(tool(2, "usage: wapiti [-h]"), wrote_report=False)


class _Session:
    def __init__(self, client: httpx.Client, n: int) -> None:
        self.client = client
        self.n = n
        self.headers: dict[str, str] = {}  # a cookie session: no credential header

    def headers_for_write(self) -> dict[str, str]:
        return {"X-CSRF-Token": f"t{self.n}"}

    def close(self) -> None:
        pass


def test_auth_proxy_forwards_with_a_live_session_and_rewrites_the_origin():
    seen: list[httpx.Request] = []
    target = "https://127.0.0.1:8443"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("cookie") != "s=2":
            return httpx.Response(401)
        return httpx.Response(
            302 if request.url.path == "/go" else 200,
            headers={"location": f"{target}/next", "set-cookie": "s=9"},
            text=f'<a href="{target}/x">x</a>',
        )

    logins = SimpleNamespace(n=0)

    def login() -> _Session:
        logins.n += 1
        client = httpx.Client(
            transport=httpx.MockTransport(handler), headers={"cookie": f"s={logins.n}"}
        )
        return _Session(client, logins.n)

    with AuthProxy(target, login) as proxy, httpx.Client() as scanner:
        page = scanner.get(proxy.url + "/page")
        posted = scanner.post(proxy.url + "/go", content=b"a=1")
    assert page.status_code == 200 and f'href="{proxy.url}/x"' in page.text
    assert "set-cookie" not in page.headers  # the scanner must not replace the session
    assert posted.status_code == 302 and posted.headers["location"] == f"{proxy.url}/next"
    assert seen[-1].headers["x-csrf-token"] == "t2"
    assert proxy.relogins == 2  # the first session was rejected once, then replaced


def test_auth_proxy_refuses_other_hosts_tunnels_and_writes_in_safe_mode():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, text="ok")

    guard = ScopeGuard(["127.0.0.0/8", "localhost"])
    with AuthProxy(
        "http://127.0.0.1:8080",
        None,
        client_factory=lambda: httpx.Client(transport=httpx.MockTransport(handler)),
        guard=guard,
        read_only=True,
    ) as proxy:
        assert proxy.route("GET", f"{proxy.url}/a?b=1") == "/a?b=1"  # itself, as a proxy
        assert proxy.route("GET", "http://dns.example.net/x") is None
        assert proxy.route("GET", "http://127.0.0.1:9/cb") is None  # in scope, not the target
        assert proxy.route("CONNECT", "cdn.example.com:443") is None
        with httpx.Client(proxy=proxy.url) as scanner:
            refused = scanner.get("http://oob.example.org/ping")
            allowed = scanner.get(proxy.url + "/page")
            posted = scanner.post(proxy.url + "/form", content=b"a=1")
    assert refused.status_code == 403 and allowed.status_code == 200
    assert posted.status_code == 403 and seen == ["GET /page"]
    assert any("oob.example.org is outside the scope allow-list" in r for r in proxy.refused)
    assert any("127.0.0.1 is not the target" in r for r in proxy.refused)
    assert any(r.startswith("CONNECT") for r in proxy.refused)
    assert any("POST /form: safe mode" in r for r in proxy.refused)


def test_auth_proxy_answers_502_and_counts_when_login_fails():
    def login() -> _Session:
        raise RuntimeError("provider down")

    with AuthProxy("https://127.0.0.1:8443", login) as proxy, httpx.Client() as scanner:
        answer = scanner.get(proxy.url + "/x")
    assert answer.status_code == 502 and "provider down" in answer.text
    assert (proxy.requests, proxy.failures) == (1, 1) and "RuntimeError" in proxy.last_error


def test_auth_proxy_forwards_on_its_own_client_and_survives_refused_logins():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    calls = SimpleNamespace(n=0)

    def login() -> _Session:
        calls.n += 1
        if calls.n > 1:
            raise RuntimeError("429 on the login route")
        jar_client = httpx.Client()
        jar_client.cookies.set("bridge_session", "abc", domain="127.0.0.1")
        return _Session(jar_client, calls.n)

    def factory() -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(handler))

    with (
        AuthProxy(
            "https://127.0.0.1:8443", login, client_factory=factory, max_session_age_s=0.0
        ) as proxy,
        httpx.Client() as scanner,
    ):
        first = scanner.get(proxy.url + "/a", headers={"Cookie": "scanner=1"})
        second = scanner.get(proxy.url + "/b")  # the session is "old": the relogin fails
    assert (first.status_code, second.status_code) == (200, 200)
    assert [r.headers["cookie"] for r in seen] == ["bridge_session=abc"] * 2
    assert proxy.failures == 0 and "429" in (proxy.last_error or "")


class _Site(BaseHTTPRequestHandler):
    """A small site with parameters for every module to try; slow enough to fill a budget."""

    def do_GET(self) -> None:  # noqa: N802
        time.sleep(0.05)
        links = "".join(f'<a href="/p{i}?q={i}&r=x">{i}</a>' for i in range(30))
        body = f'<html><body>{links}<form action="/s"><input name="n"></form></body></html>'
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.mark.skipif(wapiti.wapiti_binary() is None, reason="wapiti is not installed")
def test_a_20_s_budget_scan_finishes_within_25_s_wall(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    guard = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])
    namespace_available()  # asked once per process (about 1 s), not part of a scan
    started = time.monotonic()
    try:
        with AuthProxy(base, None, client_factory=lambda: scoped_client(guard), guard=guard) as p:
            host, port = p.url.removeprefix("http://").rsplit(":", 1)
            run = wapiti.run(
                p.url,
                guard=ProcessGuard(guard),
                budget_s=20,
                proxy_url=p.url,
                reach=[(host, int(port))],
                workdir=tmp_path,
            )
    finally:
        server.shutdown()
        server.server_close()
    wall = time.monotonic() - started
    print(f"wapiti with a 20 s budget: {wall:.1f} s wall ({run.elapsed_s:.1f} s in the engine)")
    print(run.coverage, run.notes)
    # The budget is the engine's; start-up on a loaded machine adds to the wall time. Three
    # budgets catch a scan that ignored it (a full scan of this site runs for minutes).
    assert wall < 60, f"a 20 s budget took {wall:.1f} s"
    assert run.coverage is not None and run.coverage.ran and p.requests > 0
    assert not p.refused, p.refused  # nothing tried to leave through the proxy
