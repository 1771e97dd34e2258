"""`harness run` end to end, on the real reference stack (`harness efficacy`: test_efficacy_cli).

One control of the performance suite (PERF-01, a few seconds) is the quickest real run, so these
tests show the whole path — stack up, pytest, results.json, every report, the gate — without
paying for the full suites; ``--control`` is the user's way to the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from harness_cli import run_harness as _harness  # tests/ is on sys.path
from report_chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium


@pytest.fixture(scope="module")
def performance_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("run") / "report"
    done = _harness(
        "run", "--suite", "performance", "--control", "perf-01", "--out", str(out), "-n", "1"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done.stdout


def test_run_writes_every_report_and_passes_the_gate(performance_run: tuple[Path, str]) -> None:
    out, stdout = performance_run
    for name in (
        "results.json",
        "report.html",
        "junit.xml",
        "results.sarif",
        "summary.md",
        "manifest.json",
        "manifest.sig",
        "manifest.pub",
    ):
        assert (out / name).is_file(), f"{name} missing from {out}"
    checked = _harness("verify", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    results = json.loads((out / "results.json").read_text())
    perf = next(c for c in results["controls"] if c["id"] == "PERF-01")
    assert perf["status"] == "pass", perf
    assert perf["evidence"], "a passing control must carry its evidence"
    assert results["gate"]["passed"] is True
    assert results["run"]["signing_key"]["fingerprint"] in checked.stdout


@needs_chromium
def test_report_of_a_real_run_renders_its_matrix(performance_run: tuple[Path, str]) -> None:
    from playwright.sync_api import sync_playwright

    out, _ = performance_run
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto((out / "report.html").as_uri())
            rows = page.locator("table tbody tr")
            assert rows.count() > 0, "the control matrix has no rows"
            assert page.get_by_text("PERF-01").first.is_visible()
            png = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (out / "screenshot.png").write_bytes(png)
    external = [url for url in requests if not url.startswith(("file:", "data:"))]
    assert not external, f"the report fetched {external}"


def test_run_reports_only_the_controls_asked_for(performance_run: tuple[Path, str]) -> None:
    out, _ = performance_run
    results = json.loads((out / "results.json").read_text())
    ran = {c["id"] for c in results["controls"] if c["status"] not in ("not run", "planned")}
    assert ran == {"PERF-01"}, ran


def test_run_refuses_an_unknown_control_in_one_line(tmp_path: Path) -> None:
    done = _harness("run", "--control", "NOPE-99", "--out", str(tmp_path / "out"), timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "NOPE-99" in lines[0], done.stderr
    assert not (tmp_path / "out").exists()


def test_run_refuses_a_broken_profile_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "harness.toml"
    config.write_text('[profiles.reference]\nprovider = "kubernetes"\n')
    env_config = {"HARNESS_CONFIG": str(config)}
    done = _harness(
        "run", "--out", str(tmp_path / "out"), env={**os.environ, **env_config}, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "provider" in lines[0], done.stderr
    assert not (tmp_path / "out").exists(), "nothing may be written for a broken profile"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://10.1.2.3:8443", "outside the scope allow-list"),
        ("https://127.0.0.1:1", "cannot reach the target https://127.0.0.1:1"),
    ],
)
def test_run_refuses_an_external_target_it_cannot_use(
    tmp_path: Path, base_url: str, expected: str
) -> None:
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[profiles.staging]\nprovider = "external"\n[profiles.staging.target]\n'
        f'base_url = "{base_url}"\n'
    )
    done = _harness(
        "run",
        "--profile",
        "staging",
        "--out",
        str(tmp_path / "out"),
        env={**os.environ, "HARNESS_CONFIG": str(config)},
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not (tmp_path / "out").exists(), "nothing may be written for an unusable target"
