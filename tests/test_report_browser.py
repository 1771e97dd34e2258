"""The HTML report in a real browser: a hostile target cannot script it, and it works.

Chromium comes from Debian (/usr/bin/chromium, see report_chromium.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from inner_pytest import BASE_ARGS  # tests/ is on sys.path
from loopback_server import base_url, serving
from report_chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium

from harness.report import render_all
from harness.results import load_results

pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'

pytestmark = needs_chromium


class Hostile(BaseHTTPRequestHandler):
    """A target whose headers, body and cookie names all carry script payloads."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = f'<html><body>{SCRIPT}{IMG}<a href="javascript:alert(1)">x</a></body></html>'
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("X-Evil", SCRIPT + IMG)
        self.send_header("Set-Cookie", f"{SCRIPT}=1; Path=/")
        self.send_header("Set-Cookie", f"{IMG}=v; HttpOnly")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_url() -> Iterator[str]:
    with serving(Hostile) as server:
        yield base_url(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_report(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    fired: list[str] = []

    def on_dialog(dialog: Any) -> None:
        fired.append(f"dialog:{dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    # Any script that does run (it must not) reports itself through these.
    page.expose_binding("__pwned", lambda source, what: fired.append(f"binding:{what}"))
    page.add_init_script(
        "window.alert = function (m) { window.__pwned('alert ' + m); };"
        "window.addEventListener('error', function (e) {"
        "  if (e.target && e.target.tagName === 'IMG') { window.__pwned('img onerror'); }"
        "}, true);"
    )
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, fired


def assert_unscripted(page: Any, fired: list[str]) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    page.fill("#f-text", "alert")
    page.wait_for_timeout(200)
    assert fired == []
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror], [onload], [onclick]').length") == 0
    assert page.evaluate("document.scripts.length") == 1  # only our static filter
    assert page.locator("a[href^='javascript:']").count() == 0
    # The payloads are there, as text.
    assert SCRIPT in page.inner_text("body")


def test_hostile_target_cannot_script_the_report(
    pytester: pytest.Pytester, hostile_url: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTILE_URL", hostile_url)
    monkeypatch.setenv("HARNESS_CONFIG", str(pytester.path / "none.toml"))
    pytester.makepyfile(
        test_hostile=f"""
        import os
        import httpx
        import pytest
        from harness.findings import Finding, Severity

        SCRIPT = {SCRIPT!r}
        IMG = {IMG!r}

        @pytest.mark.control("SEC-06")
        def test_capture(evidence):
            url = os.environ["HOSTILE_URL"]
            response = httpx.get(url + "/?q=" + SCRIPT)
            evidence.http(response, title=SCRIPT + IMG)
            evidence.text(IMG, response.text)
            evidence.log([SCRIPT, IMG], title=SCRIPT)
            evidence.json(SCRIPT, {{"headers": dict(response.headers), IMG: SCRIPT}})
            evidence.figure(SCRIPT, 3.0, IMG)
            evidence.finding(Finding(rule="probe:" + SCRIPT, title=IMG, severity=Severity.HIGH,
                                     url=url + "/" + IMG, parameter=SCRIPT, evidence=IMG))
            assert False, "reflected " + SCRIPT + IMG
        """
    )
    result = pytester.runpytest_inprocess(*BASE_ARGS, "--harness-out", "out")
    assert result.ret == 1
    report = pytester.path / "out" / "report.html"
    html = report.read_text()
    assert SCRIPT not in html and "<img src=x" not in html

    page, fired = open_report(browser, report)
    assert_unscripted(page, fired)
    page.close()

    # Escaping alone must hold: the same report without its CSP.
    bare = report.with_name("report-no-csp.html")
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html))
    page, fired = open_report(browser, bare)
    assert_unscripted(page, fired)
    page.close()


def test_matrix_renders_and_filters(browser: Any, tmp_path: Path) -> None:
    results = load_results(DATA / "sample-run" / "results.json")
    previous = load_results(DATA / "previous-results.json")
    render_all(results, tmp_path, previous=previous, run_dir=DATA / "sample-run")
    page, fired = open_report(browser, tmp_path / "report.html")
    rows = page.locator("#matrix tbody tr")
    total = len(results.controls)
    assert rows.count() == total
    assert page.locator("#matrix tbody tr:visible").count() == total
    assert page.inner_text("#f-count") == f"{total} of {total} controls shown"
    page.screenshot(path=str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 20_000

    page.click("button[data-filter-status='fail']")
    assert page.locator("#matrix tbody tr:visible").count() == 2
    assert page.inner_text("#f-count") == f"2 of {total} controls shown"
    page.click("button[data-filter-status='fail']")  # a second click clears it
    page.fill("#f-text", "sql injection")
    assert page.locator("#matrix tbody tr:visible").count() == 1
    page.fill("#f-text", "")
    page.select_option("#f-area", "observability")
    observability = sum(1 for c in results.controls if c.area == "observability")
    assert page.locator("#matrix tbody tr:visible").count() == observability
    assert fired == []
    page.close()
