"""End to end: the real OWASP suites scan a recording third-party target in both safety modes.

The target (tests/recording_target.py) records every request. Its OpenAPI document lists a
database reset, a settings API and an item collection; its page loads a script from a host
nobody allow-listed. With ``safety = "safe"`` no state-changing request may reach it and the
results say what was held back; with ``safety = "intrusive"`` the writes arrive; the
``scope.exclude``d reset is never called in either mode.

Selection, to stay near a minute per mode: the suites that write (stored XSS, access control,
input validation, injection, error disclosure), SRI (the third-party script) and, in safe
mode only, rate limiting and brute force (refused before a request; in intrusive mode the
bursts alone take minutes). DAST (SEC-14) and TLS are left to their own tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# tests/ is on sys.path (rootdir-less test dir)
from recording_target import Record, recording_target

from harness.safety import skipped_controls

REPO = Path(__file__).resolve().parent.parent
RESET = "POST /admin/reset-db"
WRITING_SUITES = [
    "suites/owasp/test_xss.py",
    "suites/owasp/test_access_control.py",
    "suites/owasp/test_input.py",
    "suites/owasp/test_injection.py",
    "suites/owasp/test_errors.py",
    "suites/owasp/test_sri.py",
]
SAFE_ONLY = ["suites/owasp/test_rate_limit.py", "suites/owasp/test_auth_bruteforce.py"]


# Runs the child pytest: argv, environment, timeout -> the finished process.
Runner = Callable[[list[str], dict[str, str], float], "subprocess.CompletedProcess[str]"]


def _plain(
    argv: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _scan(tmp_path: Path, mode: str, suites: list[str]) -> tuple[Record, dict[str, Any], str]:
    return _scan_with(tmp_path, mode, suites, _plain, "")[:3]


def _scan_with(
    tmp_path: Path, mode: str, suites: list[str], runner: Runner, extra: str
) -> tuple[Record, dict[str, Any], str, dict[str, Any]]:
    with recording_target() as (base, record):
        config = tmp_path / "harness.toml"
        config.write_text(
            f'[profiles.live]\nprovider = "external"\nsafety = "{mode}"\n'
            f'[profiles.live.target]\nbase_url = "{base}"\n'
            '[profiles.live.auth]\nflow = "none"\nlockout_user = "mallory"\n'
            'users = [{ name = "mallory", password = "not-a-real-one" }]\n'
            '[profiles.live.logs]\nsource = "none"\n'
            f'[profiles.live.scope]\nexclude = ["{RESET}"]\n' + extra
        )
        out = tmp_path / "out"
        done = runner(
            [sys.executable, "-m", "pytest", *suites, "-p", "no:xdist", "-q"]
            + ["--profile", "live", "--harness-out", str(out), "--harness-no-report"],
            {**os.environ, "HARNESS_CONFIG": str(config)},
            600,
        )
    results_path = out / "results.json"
    assert results_path.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(results_path.read_text())
    controls = {c["id"]: c for c in results["controls"]}
    return record, controls, done.stdout, results


def scan_results(
    tmp_path: Path, mode: str, suites: list[str], runner: Runner, extra: str = ""
) -> tuple[Record, dict[str, Any], str, dict[str, Any]]:
    """:func:`scan` plus the whole results.json."""
    return _scan_with(tmp_path, mode, suites, runner, extra)


def _reason(control: dict[str, Any]) -> str:
    return str(control.get("reason") or "")


def test_safe_mode_sends_no_write_and_says_what_it_skipped(tmp_path: Path) -> None:
    record, controls, log = _scan(tmp_path, "safe", WRITING_SUITES + SAFE_ONLY)
    assert record.requests, "the scan never reached the target"
    assert record.writes() == [], f"state-changing requests reached the target: {record.writes()}"
    assert not record.saw(RESET)
    # Held back, and said so: never a pass on what was not sent.
    for control_id in ("SEC-03", "SEC-06", "AUTH-09"):
        assert controls[control_id]["status"] == "not_evaluated", (control_id, log[-2000:])
        assert "needs safety = intrusive" in _reason(controls[control_id])
    held = skipped_controls((c["id"], c["status"], c.get("reason")) for c in controls.values())
    assert {"SEC-03", "SEC-06", "AUTH-09"} <= {line.split(":")[0] for line in held}
    # The operation walks skip the refused writes, go on with the rest and say so: a clean
    # partial walk is not_evaluated naming what it checked and what it held back.
    for control_id in ("SEC-05", "AUTH-11"):
        reason = _reason(controls[control_id])
        assert controls[control_id]["status"] == "not_evaluated", (control_id, reason)
        assert "of 7 operations; 4 need safety = intrusive" in reason, (control_id, reason)
        assert "POST /items" in reason, reason
    # Past the refused writes, the walk still found what the reads show (a version banner).
    assert controls["SEC-07"]["status"] == "fail", _reason(controls["SEC-07"])
    # What safe mode may do, it does: the page and its third-party script were read.
    assert controls["SEC-16"]["status"] == "fail"
    assert "cdn.example.com" in _reason(controls["SEC-16"])


def test_intrusive_mode_sends_the_writes_but_never_the_excluded_reset(tmp_path: Path) -> None:
    record, controls, log = _scan(tmp_path, "intrusive", WRITING_SUITES)
    writes = set(record.writes())
    assert {"PUT /settings", "POST /items"} <= writes, (sorted(writes), log[-2000:])
    assert not record.saw(RESET)
    assert controls["SEC-06"]["status"] != "not_evaluated", _reason(controls["SEC-06"])
    assert not any("needs safety = intrusive" in _reason(c) for c in controls.values())


@pytest.fixture(autouse=True)
def _on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suites run in a child pytest that imports this tree, not an installed copy.
    paths = [str(REPO), str(REPO / "fixtures"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
