"""`harness efficacy` end to end on the real reference stack, and its refusals (no stack).

One control of the performance suite (PERF-01, a few seconds, chosen with ``--control``) is the
quickest real matrix, so the stack test shows the whole path (stack up, clean run, a fault,
efficacy.json, the report's matrix) without paying for the full matrix, which the test command
runs itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from harness_cli import run_harness as _harness  # tests/ is on sys.path

from harness.commands.efficacy_cmds import efficacy


def test_efficacy_catches_a_fault_and_reports_the_matrix(tmp_path: Path) -> None:
    out = tmp_path / "efficacy"
    done = _harness(
        "efficacy",
        "--suite",
        "performance",
        "--control",
        "PERF-01",
        "--fault",
        "no_gzip",
        "--fault",
        "no_csp",
        "--out",
        str(out),
        "-n",
        "1",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((out / "efficacy.json").read_text())
    by_name = {fault["name"]: fault for fault in document["faults"]}
    assert by_name["no_gzip"] == {
        **by_name["no_gzip"],
        "expected": ["PERF-01"],
        "failed": ["PERF-01"],
        "caught": True,
        "status": "caught",
        "collateral": [],
        "collateral_measured": False,
    }
    # SEC-01 was not chosen: the fault is pending, listed and counted apart.
    assert by_name["no_csp"]["status"] == "pending"
    assert by_name["no_csp"]["reason"] == "SEC-01: not among the controls chosen (--control)"
    assert document["summary"] == {
        "caught": 1,
        "total": 1,
        "missed": 0,
        "inconclusive": 0,
        "pending": 1,
        "false_alarms": 0,
    }
    assert document["clean"]["failed"] == []
    html = (out / "clean" / "report.html").read_text()
    assert "caught 1/1 faults" in html
    # The matrix was attached through the pipeline: the clean run is re-sealed.
    checked = _harness("verify", str(out / "clean"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    line = "efficacy: caught 1/1 faults, 1 pending, 0 inconclusive, 0 false alarms"
    assert line in done.stdout
    assert "collateral not measured" in done.stderr and "total" in done.stderr


def test_efficacy_rejects_an_unknown_fault(tmp_path: Path) -> None:
    done = _harness(
        "efficacy",
        "--suite",
        "performance",
        "--fault",
        "no_such_fault",
        "--out",
        str(tmp_path / "e"),
    )
    assert done.returncode == 2
    assert "unknown fault(s): no_such_fault" in done.stderr


def test_efficacy_refuses_fault_and_quick_together(tmp_path: Path) -> None:
    done = CliRunner().invoke(efficacy, ["--quick", "--fault", "no_csp", "--out", str(tmp_path)])
    assert done.exit_code == 2 and "exclude each other" in done.output
