"""The gate: policy rules, waivers, baseline, exit codes, and the decision in results.json."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.commands.report_cmds import gate
from harness.findings import Finding, Severity
from harness.gate import Policy, PolicyError, evaluate, load_baseline, load_policy
from harness.results import ControlResult, Results, RunInfo, load_results
from harness.verdicts import Verdict

DATA = Path(__file__).parent / "data"
TODAY = date(2026, 11, 24)


def results(**statuses: str) -> Results:
    controls = [
        ControlResult(
            id=cid.replace("_", "-"),
            title=cid,
            area="hardening",
            status=Verdict(status),
            severity="high" if cid != "SEC_13" else "medium",
            reason=f"{cid} reason",
        )
        for cid, status in statuses.items()
    ]
    run = RunInfo(id="r1", harness_version="0", start="s", end="e", duration_s=1)
    return Results(run=run, controls=controls)


def policy(**kwargs: object) -> Policy:
    return Policy.model_validate(kwargs)


def kinds(decision) -> list[tuple[str, str]]:
    return [(r.kind, r.subject) for r in decision.reasons]


def test_all_pass() -> None:
    decision = evaluate(results(SEC_01="pass"), policy(required=["SEC-01"]), today=TODAY)
    assert decision.passed and decision.reasons == []


def test_required_must_pass() -> None:
    r = results(SEC_01="fail", SEC_02="not_evaluated", SEC_03="not_applicable", OPS_01="planned")
    decision = evaluate(
        r, policy(required=["SEC-01", "SEC-02", "SEC-03", "OPS-01", "SEC-99"]), today=TODAY
    )
    assert kinds(decision) == [
        ("required", "SEC-01"),
        ("not_evaluated", "SEC-02"),
        ("not_applicable", "SEC-03"),
        ("planned", "OPS-01"),
        ("required", "SEC-99"),
    ]
    assert "SEC_01 reason" in decision.reasons[0].message
    assert "not reported" in decision.reasons[-1].message


def test_allow_lists() -> None:
    r = results(SEC_02="not_evaluated", SEC_03="not_applicable")
    p = policy(
        required=["SEC-02", "SEC-03"],
        not_evaluated={"allow": ["SEC-02"]},
        not_applicable={"allow": ["SEC-03"]},
    )
    decision = evaluate(r, p, today=TODAY)
    assert decision.passed and len(decision.notes) == 2


def test_fail_on_severity() -> None:
    r = results(SEC_01="error", SEC_13="fail")  # SEC-13 is medium here
    assert kinds(evaluate(r, policy(), today=TODAY)) == [("severity", "SEC-01")]
    assert kinds(evaluate(r, policy(fail_on=["medium"]), today=TODAY)) == [("severity", "SEC-13")]


def test_waivers_valid_and_expired() -> None:
    r = results(SEC_01="fail", SEC_02="fail")
    p = policy(
        waivers=[
            {"id": "SEC-01", "reason": "fix in 2.1", "owner": "alice", "expires": "2026-12-31"},
            {"id": "SEC-02", "reason": "old", "owner": "bob", "expires": "2026-11-23"},
        ]
    )
    decision = evaluate(r, p, today=TODAY)
    assert decision.statuses["SEC-01"] == Verdict.WAIVED
    assert decision.waived == ["SEC-01"]
    assert kinds(decision) == [("waiver_expired", "SEC-02"), ("severity", "SEC-02")]
    assert "expired on 2026-11-23" in decision.reasons[0].message
    assert "alice" in decision.notes[0].message


def test_findings_baseline_and_waiver() -> None:
    r = results(SEC_05="pass")
    known = Finding(rule="zap:1", title="known", severity=Severity.HIGH, url="http://h/a")
    new = Finding(rule="zap:2", title="new", severity=Severity.CRITICAL, url="http://h/b")
    waived = Finding(rule="zap:3", title="waived", severity=Severity.HIGH)
    low = Finding(rule="zap:4", title="low", severity=Severity.LOW)
    r.findings = [known, new, waived, low]
    p = policy(waivers=[{"id": waived.id, "reason": "r", "owner": "o", "expires": "2030-01-01"}])
    decision = evaluate(r, p, {known.id}, today=TODAY)
    assert kinds(decision) == [("finding", new.id)]
    assert any(n.kind == "baseline" for n in decision.notes)


def test_baseline_formats(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('["aaaa", "bbbb"]')
    (tmp_path / "b.json").write_text('{"findings": [{"id": "cccc"}, "dddd"]}')
    (tmp_path / "c.txt").write_text("# accepted\neeee  # why\n\nffff\n")
    assert load_baseline(tmp_path / "a.json") == {"aaaa", "bbbb"}
    assert load_baseline(tmp_path / "b.json") == {"cccc", "dddd"}
    assert load_baseline(tmp_path / "c.txt") == {"eeee", "ffff"}
    with pytest.raises(PolicyError, match="cannot read"):
        load_baseline(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fail_on = ['urgent']", "fail_on.0"),
        ("requird = ['SEC-01']", "requird"),
        ("[[waivers]]\nid = 'SEC-01'\nreason = 'r'\nowner = 'o'", "waivers.0.expires"),
        ("nope = [", "not valid TOML"),
        ("baseline = 'missing.json'", "baseline"),
    ],
)
def test_bad_policy_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_example_policy_is_valid() -> None:
    policy, baseline = load_policy(Path(__file__).parents[1] / "examples" / "policy.toml")
    assert policy.required and isinstance(baseline, set)


def test_cli_exit_codes_and_written_decision(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(DATA / "sample-run", run)
    path = run / "results.json"
    runner = CliRunner()

    passing = tmp_path / "pass.toml"
    passing.write_text("required = ['SEC-02']\nfail_on = []\n")
    done = runner.invoke(gate, ["--policy", str(passing), str(path)])
    assert done.exit_code == 0, done.output
    assert "gate passed" in done.output

    failing = tmp_path / "fail.toml"
    failing.write_text("required = ['SEC-05']\n")
    done = runner.invoke(gate, ["--policy", str(failing), str(path)])
    assert done.exit_code == 1
    assert "FAIL SEC-05: [required]" in done.output
    assert "FAIL SEC-11: [severity]" in done.output
    stored = load_results(path)
    assert stored.gate is not None and not stored.gate.passed
    assert stored.gate.reasons[0].subject == "SEC-05"

    done = runner.invoke(gate, ["--policy", str(tmp_path / "nope.toml"), str(path)])
    assert done.exit_code == 2 and "no such policy file" in done.output
    (tmp_path / "bad.json").write_text("{}")
    done = runner.invoke(gate, ["--policy", str(passing), str(tmp_path / "bad.json")])
    assert done.exit_code == 2 and "schema_version" in done.output
    assert json.loads(path.read_text())["gate"]["passed"] is False


def test_run_gate_default_policy(tmp_path: Path) -> None:
    # `harness run` without --policy: every applicable control must pass.
    from harness.gate import run_gate

    run = tmp_path / "run"
    shutil.copytree(DATA / "sample-run", run)
    lines: list[str] = []
    decision = run_gate(run / "results.json", None, echo=lines.append)
    assert not decision.passed
    failed = {r.subject for r in decision.reasons if r.kind != "finding"}
    assert failed == {"SEC-01", "SEC-05", "SEC-11", "SEC-14"}  # fail, fail, error, not_evaluated
    assert lines[-1] == "gate failed (7 reason(s))"  # + 3 findings (critical, medium, low)
    assert load_results(run / "results.json").gate == decision


def test_a_synthesized_finding_does_not_count_twice() -> None:
    """A failed control's synthesized finding restates the control: one reason, and a waiver
    of the control covers it."""
    r = results(SEC_01="fail")
    r.findings = [
        Finding(
            rule="SEC-01",
            title="SEC_01",
            severity=Severity.HIGH,
            control="SEC-01",
            synthesized=True,
        )
    ]
    decision = evaluate(r, policy(fail_on=["high"]), today=TODAY)
    assert kinds(decision) == [("severity", "SEC-01")]
    waived = policy(
        fail_on=["high"],
        waivers=[{"id": "SEC-01", "reason": "r", "owner": "o", "expires": "2027-01-01"}],
    )
    assert evaluate(r, waived, today=TODAY).passed
