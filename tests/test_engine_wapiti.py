"""The wapiti adapter: report parsing (a real wapiti 3.2.3 report of the reference app with
the ``sqli_search`` fault, trimmed), the command line, and the session-keeping proxy."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import httpx

from harness.engines.authproxy import AuthProxy
from harness.engines.wapiti import DEFAULT_MODULES, command, parse_report
from harness.findings import Severity

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
    argv = command(
        "http://127.0.0.1:9/",
        tmp_path / "o.json",
        tmp_path,
        budget_s=30,
        openapi_url="http://127.0.0.1:9/openapi.json",
    )
    modules = argv[argv.index("-m") + 1].split(",")
    assert modules == DEFAULT_MODULES
    assert not {"ssl", "ssrf", "xxe", "nikto", "brute_login_form"} & set(modules)
    assert argv[argv.index("--max-scan-time") + 1] == "30"
    assert "--flush-session" in argv and argv[argv.index("-f") + 1] == "json"


class _Session:
    def __init__(self, client: httpx.Client, n: int) -> None:
        self.client = client
        self.n = n

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
