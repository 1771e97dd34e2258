"""The run history: two consecutive runs show a trend in the report; a re-publish (the gate,
``harness report``) replaces its run's rows instead of counting it twice; the auditor's summary
opens the report; the exports are written into the run folder before the seal."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from harness.history import HISTORY_NAME, trends
from harness.pipeline import publish, republish
from harness.results import ControlResult, Figure, GateResult, Results, RunInfo, WaiverRecord
from harness.rundir import RunDir
from harness.seal import signing_key, verify
from harness.verdicts import Verdict

SQLI_REFS: dict[str, list[Any]] = {
    "roadmap": ["§9"],
    "owasp": ["A03"],
    "asvs": ["5.3.4"],
    "cwe": [89],
}


def _results(run_id: str, start: str, status: str, latency: float) -> Results:
    controls = [
        ControlResult(
            id="SEC-05",
            title="No SQL injection",
            area="hardening",
            status=Verdict(status),
            severity="critical",
            refs=SQLI_REFS,
            reason=None if status == "pass" else "time-based probe delayed 3 s",
        ),
        ControlResult(
            id="OBS-01", title="Metrics", area="observability", status=Verdict.PASS, severity="low"
        ),
    ]
    run = RunInfo(
        id=run_id,
        target="http://127.0.0.1:9",
        profile="reference",
        release="2",
        harness_version="0",
        start=start,
        end=start,
        duration_s=1,
        safety=["safety = intrusive"],
    )
    figure = Figure(control="PERF-02", name="p95 latency", value=latency, unit="ms")
    return Results(run=run, controls=controls, figures=[figure])


def _publish(root: Path, results: Results) -> Path:
    run = RunDir.create(root, run_id=results.run.id)
    publish(run, results, key=signing_key(None))
    return run.path


def test_two_runs_show_a_trend(tmp_path: Path) -> None:
    first = _results("20261201T000000Z-aaaaaa", "2026-12-01T00:00:00+00:00", "pass", 120.0)
    second = _results("20261202T000000Z-bbbbbb", "2026-12-02T00:00:00+00:00", "fail", 180.0)
    _publish(tmp_path, first)
    folder = _publish(tmp_path, second)

    seen = trends(tmp_path / HISTORY_NAME, second)
    assert seen.runs == [first.run.id, second.run.id]
    assert seen.verdicts["SEC-05"] == ["pass", "fail"]
    assert seen.figures[0].values == [120.0, 180.0]

    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Trends over the last 2 runs" in html
    assert "Controls whose verdict changed: SEC-05" in html
    assert f'title="{first.run.id}: pass"' in html and f'title="{second.run.id}: fail"' in html
    assert "<polyline points=" in html  # the latency sparkline

    # A re-publish (here a gate with a waiver) replaces the run's rows: still two runs.
    def gate(results: Results) -> None:
        results.gate = GateResult(
            passed=True,
            evaluated_at="2026-12-02T00:00:00+00:00",
            statuses={"SEC-05": Verdict.WAIVED, "OBS-01": Verdict.PASS},
            waivers=[
                WaiverRecord(
                    id="SEC-05",
                    owner="appsec@example.test",
                    expires="2027-01-31",
                    reason="fix in 2.1",
                    state="applied",
                )
            ],
        )

    republish(folder, update=gate)
    with sqlite3.connect(tmp_path / HISTORY_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
    assert trends(tmp_path / HISTORY_NAME, second).verdicts["SEC-05"] == ["pass", "waived"]

    html = (folder / "report.html").read_text(encoding="utf-8")
    summary = html[html.index('id="auditor"') : html.index('id="verdict"')]
    assert "safety = intrusive" in summary and "release 2" in summary
    assert "OWASP Top 10 2021" in summary and "NIST SP 800-53" in summary
    assert "appsec@example.test" in summary and "2027-01-31" in summary
    assert f"harness verify reports/{folder.name}" in summary
    # The exports are in the run folder and under the seal.
    assert (folder / "export" / "hdf.json").is_file()
    assert (folder / "export" / "defectdojo-findings.json").is_file()
    assert (folder / "export" / "oscal-assessment-results.json").is_file()
    assert verify(folder).ok


def test_other_fault_sets_do_not_mix(tmp_path: Path) -> None:
    clean = _results("20261201T000000Z-aaaaaa", "2026-12-01T00:00:00+00:00", "pass", 1.0)
    faulty = _results("20261202T000000Z-bbbbbb", "2026-12-02T00:00:00+00:00", "fail", 1.0)
    faulty.run.faults = ["sqli_search"]
    _publish(tmp_path, clean)
    _publish(tmp_path, faulty)
    assert trends(tmp_path / HISTORY_NAME, faulty).runs == [faulty.run.id]
