"""The baseline ratchet: ``harness baseline update`` accepts a run's findings; a later run with
one new finding fails the gate, which names it; a finding that went away is reported so the
baseline can shrink. One baseline reader (harness.baseline), one gate (harness.gate)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from harness.commands.audit_cmds import baseline
from harness.commands.report_cmds import gate
from harness.findings import Finding, Severity
from harness.results import load_results, save_results

SAMPLE = Path(__file__).parent / "data" / "sample-run" / "results.json"
POLICY = 'baseline = "baseline.json"\nratchet = true\nfail_on = ["low"]\n'


def _run(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "results.json")
    return folder / "results.json"


def test_new_finding_fails_and_is_named(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    accepted = _run(tmp_path, "first")
    update = CliRunner().invoke(baseline, ["update", str(accepted), "--policy", str(policy)])
    assert update.exit_code == 0, update.output
    stored = json.loads((tmp_path / "baseline.json").read_text())
    known = {f["id"] for f in stored["findings"]}
    assert len(known) == 3 and "4c555b6d4bc79f8b" in known  # the SQL injection

    # Same findings: the gate passes (no control of a fail_on severity failed).
    same = CliRunner().invoke(gate, ["--policy", str(policy), "--no-write", str(accepted)])
    assert same.exit_code == 0, same.output
    assert "3 known finding(s) accepted by the baseline" in same.output

    # The next run: one new medium finding (not a fail_on severity: only the ratchet fails
    # it), and the CSP finding is gone.
    later = _run(tmp_path, "second")
    results = load_results(later)
    new = Finding(
        rule="probe:cors-wildcard",
        title="CORS allows any origin on /api/v1/me",
        severity=Severity.MEDIUM,
        control="SEC-02",
        url="https://127.0.0.1:8443/api/v1/me",
        method="GET",
    )
    gone = next(f for f in results.findings if f.rule == "probe:missing-csp")
    results.findings = [f for f in results.findings if f is not gone] + [new]
    save_results(results, later)
    outcome = CliRunner().invoke(gate, ["--policy", str(policy), "--no-write", str(later)])
    assert outcome.exit_code == 1, outcome.output
    assert f"FAIL {new.id}: [finding] new medium finding probe:cors-wildcard" in outcome.output
    assert f"note {gone.id}: [baseline_gone]" in outcome.output
    assert outcome.output.count("[finding]") == 1

    # Without the ratchet the same finding passes (fail_on is low only).
    policy.write_text(POLICY.replace("ratchet = true\n", ""))
    lenient = CliRunner().invoke(gate, ["--policy", str(policy), "--no-write", str(later)])
    assert lenient.exit_code == 0, lenient.output

    # Updating the baseline shrinks it and accepts the new finding.
    update = CliRunner().invoke(baseline, ["update", str(later), "--out", str(tmp_path / "b2")])
    assert f"added: {new.id}" in update.output and f"dropped: {gone.id}" not in update.output
    again = CliRunner().invoke(baseline, ["update", str(later), "--policy", str(policy)])
    assert f"added: {new.id}" in again.output and f"dropped: {gone.id}" in again.output


def test_update_needs_one_destination(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(baseline, ["update", str(SAMPLE)])
    assert outcome.exit_code == 2 and "exactly one of --policy and --out" in outcome.output


def test_gate_records_every_waiver_for_the_auditor() -> None:
    from datetime import date

    from harness.gate import Policy, evaluate

    results = load_results(SAMPLE)
    sqli = next(f for f in results.findings if f.rule == "probe:sqli-time")
    policy = Policy.model_validate(
        {
            "waivers": [
                {
                    "id": "SEC-05",
                    "reason": "fix in 2.1",
                    "owner": "a@x.test",
                    "expires": "2027-01-31",
                },
                {"id": sqli.id, "reason": "old", "owner": "b@x.test", "expires": "2026-01-01"},
                {"id": "AUTH-99", "reason": "gone", "owner": "c@x.test", "expires": "2027-01-31"},
            ]
        }
    )
    decision = evaluate(results, policy, today=date(2026, 12, 1))
    states = {(w.id, w.owner, w.expires, w.state) for w in decision.waivers}
    assert states == {
        ("SEC-05", "a@x.test", "2027-01-31", "applied"),
        (sqli.id, "b@x.test", "2026-01-01", "expired"),
        ("AUTH-99", "c@x.test", "2027-01-31", "unused"),
    }
