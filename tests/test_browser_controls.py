"""The browser-side probes (E2E-02..05) and the journey's evidence, against a small in-process
site: a clean page that must pass every check (the positive control) and pages that each carry
one of the faults the controls exist for."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from loopback_server import base_url, serving  # tests/ is on sys.path

from harness.browser import judge
from harness.browser.journey import Journey
from harness.browser.observe import ConsoleEntry, PageVisit, RequestSeen
from harness.browser.session import Observer, page_key
from harness.browser.storage import StorageSnapshot, problems
from harness.evidence import Evidence
from harness.guard_browser import GuardedBrowser, chromium_path, guarded_browser
from harness.profile.e2e_section import E2ESettings
from harness.redact import Redactor
from harness.safety import SafetyPolicy
from harness.scope import ScopeGuard

LOOPBACK = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])
CSP = "default-src 'self'; script-src 'self'; img-src 'self' http://stats.example.test"
SESSION = "s3ss10n-value-abcdefgh"
HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
PAGES = {
    "/clean": HEAD + '<script src="/app.js"></script></head><body><main><h1>Clean</h1>'
    "<label>Name <input name=n></label></main></body></html>",
    "/inline": HEAD + "</head><body><main><h1>Inline</h1><script>document.title='x'</script>"
    "</main></body></html>",
    "/beacon": HEAD + '</head><body><main><h1>Beacon</h1><img alt="" '
    'src="http://stats.example.test/p.gif"></main></body></html>',
    "/storage": HEAD + '<script src="/store.js"></script></head><body><main><h1>Store</h1>'
    "</main></body></html>",
    "/unlabelled": HEAD + "</head><body><main><h1>Form</h1><input name=n></main></body></html>",
}
SCRIPTS = {
    "/app.js": "window.appLoaded = true;",
    "/store.js": f"localStorage.setItem('remember', '{SESSION}');",
}
no_chromium = pytest.mark.skipif(chromium_path() is None, reason="no Chromium on this machine")


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path.split("?")[0]
        if path in PAGES:
            body, kind = PAGES[path].encode(), "text/html"
        elif path in SCRIPTS:
            body, kind = SCRIPTS[path].encode(), "application/javascript"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Set-Cookie", f"sid={SESSION}; HttpOnly; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serving(_Site) as server:
        yield base_url(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[GuardedBrowser]:
    with guarded_browser(LOOPBACK) as launched:
        yield launched


def _observer(browser: GuardedBrowser) -> Observer:
    return Observer(browser, E2ESettings(), SafetyPolicy(), session_cookie="sid")


def _visit(browser: GuardedBrowser, url: str) -> PageVisit:
    observer = _observer(browser)
    watched = observer.context()
    page = watched.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle", timeout=3000)
    visit = watched.observe(page, "test")
    watched.context.close()
    return visit


def _journey(
    browser: GuardedBrowser, site: str, out: Path, properties: list[tuple[str, object]]
) -> Journey:
    """A journey on the test site with no login: the tests below drive its steps by hand, and
    ``properties`` collects what its evidence attaches."""
    evidence = Evidence(
        nodeid="tests/x.py::test_j",
        controls=["E2E-01"],
        out_dir=lambda: out,
        redactor=Redactor(),
        properties=properties,
    )
    return Journey(
        _observer(browser),
        site,
        evidence,
        login=lambda user: pytest.fail("no login in this test"),
        credential=lambda session: ([], {}),
        default_user=None,
        timeout_ms=2000,
    )


@no_chromium
def test_a_clean_page_passes_every_check(browser, site):
    visit = _visit(browser, site + "/clean")
    assert visit.a11y is not None and visit.storage is not None  # every check ran
    assert any(r.url.endswith("/app.js") for r in visit.requests)  # the watch sees requests
    for verdict in (
        judge.console_and_csp([visit]),
        judge.requests([visit], []),
        judge.storage([visit]),
        judge.accessibility([visit], ["critical", "serious"]),
    ):
        assert verdict.judged == 1 and not verdict.failed, verdict.problems


@no_chromium
def test_each_fault_fails_its_control(browser, site):
    inline = judge.console_and_csp([_visit(browser, site + "/inline")])
    assert any("CSP violation of script-src" in p for p in inline.problems), inline.problems
    beacon = judge.requests([_visit(browser, site + "/beacon")], [])
    assert any(
        "third-party image request to http://stats.example.test" in p for p in beacon.problems
    )
    stored = judge.storage([_visit(browser, site + "/storage")])
    assert any("localStorage['remember']" in p for p in stored.problems), stored.problems
    unlabelled = judge.accessibility([_visit(browser, site + "/unlabelled")], ["critical"])
    assert any("critical label" in p for p in unlabelled.problems), unlabelled.problems


@no_chromium
def test_a_failed_step_leaves_a_screenshot_and_a_trace(browser, site, tmp_path: Path):
    properties: list[tuple[str, object]] = []
    made = _journey(browser, site, tmp_path, properties)
    page = made.page
    with made.step("open the clean page"):
        page.goto(made.url("/clean"))
    with pytest.raises(AssertionError), made.step("a step that fails"):
        raise AssertionError("the button is gone")
    made.finish(failed=False, trace_dir=tmp_path)
    kinds = [(p["kind"], p["title"]) for key, p in properties if isinstance(p, dict)]
    assert ("screenshot", "step 1: open the clean page") in kinds
    assert ("screenshot", "step 2: a step that fails (failed)") in kinds
    assert any(k == "file" and "trace" in t for k, t in kinds), kinds
    assert any(k == "log" and t == "browser console" for k, t in kinds)
    assert len(made.visits) == 2 and made.failed


@no_chromium
def test_a_step_failing_while_the_network_changed_is_not_evaluated(browser, site, tmp_path: Path):
    from harness.verdicts import NotEvaluated

    made = _journey(browser, site, tmp_path, [])
    page = made.page
    with made.step("open the clean page"):
        page.goto(made.url("/clean"))
    watched = made._contexts[0].watch  # what the console listener appends to
    changed = ConsoleEntry(type="error", text="Failed to load resource: net::ERR_NETWORK_CHANGED")
    with (
        pytest.raises(NotEvaluated, match="network changed.*the button is gone"),
        made.step("a step that fails while the network changes"),
    ):
        watched.log.append(changed)
        raise AssertionError("the button is gone")
    # Without a network change in the step, a failure stays the target's failure.
    with pytest.raises(AssertionError), made.step("a step that fails"):
        raise AssertionError("the button is gone")
    made.finish(failed=True, trace_dir=tmp_path)


def test_requests_judge_mixed_content_third_parties_and_navigations():
    def seen(url: str, page: str, top: bool = False) -> RequestSeen:
        return RequestSeen(
            url=url, method="GET", resource_type="image", page=page, top_navigation=top
        )

    visit = PageVisit(
        url="https://app.test/",
        source="t",
        requests=[
            seen("https://app.test/a.png", "https://app.test/"),
            seen("http://app.test/b.png", "https://app.test/"),
            seen("https://cdn.allowed.test/c.png", "https://app.test/"),
            seen("http://idp.test/authorize", "https://app.test/", top=True),
            seen("data:image/png;base64,xx", "https://app.test/"),
        ],
        console=[ConsoleEntry(type="warning", text="Mixed Content: upgraded", page=None)],
    )
    verdict = judge.requests([visit], ["https://cdn.allowed.test"])
    assert len(verdict.problems) == 3, (
        verdict.problems
    )  # b.png twice (mixed, other origin), the console
    assert not any("idp.test" in p or "cdn.allowed" in p for p in verdict.problems)


def test_storage_secrets_by_value_shape_and_name():
    snap = StorageSnapshot(
        origin="https://app.test",
        local={"theme": "dark", "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig", "t": "x"},
        session={"auth_token": "a" * 20, "copy": "prefix-" + SESSION},
        cookies={"sid": "short", "lang": "en"},
    )
    found = {(p.where, p.key) for p in problems(snap, [SESSION], "sid")}
    assert found == {
        ("localStorage", "jwt"),
        ("sessionStorage", "auth_token"),
        ("sessionStorage", "copy"),
        ("document.cookie", "sid"),
    }


def test_console_judge_leaves_guard_refusals_and_network_changes_out():
    visit = PageVisit(
        url="https://app.test/",
        source="t",
        console=[
            ConsoleEntry(type="error", text="Failed to load resource: net::ERR_BLOCKED_BY_CLIENT"),
            ConsoleEntry(type="error", text="Failed to load resource: net::ERR_NETWORK_CHANGED"),
            ConsoleEntry(type="warning", text="deprecated"),
        ],
    )
    verdict = judge.console_and_csp([visit])
    assert not verdict.failed and len(verdict.notes) == 2
    visit.console.append(ConsoleEntry(type="error", text="TypeError: x is undefined"))
    assert judge.console_and_csp([visit]).problems == [
        "https://app.test/ (t): console error: TypeError: x is undefined"
    ]


def test_axe_runs_once_per_page_path():
    assert page_key("https://a.test/playlists/7?x=1") == page_key("https://a.test/playlists/9")
    assert page_key("https://a.test/playlists") != page_key("https://a.test/playlists/9")


@no_chromium
def test_safe_mode_holds_a_page_scripts_writes(browser, site):
    observer = Observer(browser, E2ESettings(), SafetyPolicy(mode="safe"))
    watched = observer.context()
    page = watched.new_page()
    page.goto(site + "/clean")
    status = page.evaluate(
        "() => fetch('/api/items', {method: 'POST'}).then(() => 'sent', () => 'refused')"
    )
    assert status == "refused" and observer.refused == [f"POST {site}/api/items"]
    assert page.evaluate("() => fetch('/clean').then((r) => r.status)") == 200  # reads pass
    watched.context.close()


def test_controls_wait_for_journeys_of_other_processes(tmp_path: Path):
    from harness.browser import visits

    record = visits.JourneyRecord(
        test="j.py::test_a", passed=True, visits=[PageVisit(url="https://a.test/", source="j")]
    )
    visits.write(tmp_path, record)
    found, missing = visits.wait_for(tmp_path, ["j.py::test_a", "j.py::test_b"], 0.2, 0.05)
    assert [r.test for r in found] == ["j.py::test_a"] and missing == ["j.py::test_b"]
    assert found[0].visits[0].url == "https://a.test/"
