"""The one run pipeline end to end through pytester: verdicts, findings, gate, render, seal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inner_pytest import BASE_ARGS, EXTERNAL_PROFILE, use_profile  # tests/ is on sys.path

from harness.seal import verify

pytest_plugins = ["pytester"]

CONTROLS = """
import httpx
import pytest
from harness.findings import Finding, Severity

def _response(url):
    return httpx.Response(200, request=httpx.Request("GET", url), text="hello")

@pytest.mark.control("SEC-01")
def test_assert_is_fail(evidence):
    evidence.http(_response("http://127.0.0.1:9/api/things"))
    assert False, "no Content-Security-Policy header"

@pytest.mark.control("SEC-02")
def test_harness_exception_is_error():
    {}["csrf_token"]

@pytest.mark.control("SEC-03")
def test_pytest_fail_is_fail():
    pytest.fail("rate limit never answered 429")

@pytest.mark.control("SEC-05")
def test_own_finding(evidence):
    evidence.text("payload", "q=1' OR '1'='1")
    evidence.finding(Finding(rule="probe:sqli", title="SQL injection", severity=Severity.HIGH,
                             url="http://127.0.0.1:9/search", method="GET", parameter="q"))
    assert False, "injection"

@pytest.mark.control("SEC-06")
def test_pass(): pass
"""


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    use_profile(pytester, monkeypatch, EXTERNAL_PROFILE)
    monkeypatch.delenv("HARNESS_SIGNING_KEY", raising=False)

    def run(source: str, *args: str) -> tuple[pytest.RunResult, Path, dict[str, Any]]:
        pytester.makepyfile(test_controls=source)
        result = pytester.runpytest_inprocess(*BASE_ARGS, "-p", "no:xdist", *args)
        latest = pytester.path / "reports" / "latest"
        folder = latest.resolve() if latest.exists() else pytester.path / "out"
        path = folder / "results.json"
        return result, folder, json.loads(path.read_text()) if path.exists() else {}

    return run


def _by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in data["controls"]}


def test_only_assertions_fail_other_exceptions_are_errors(run) -> None:
    _, _, data = run(CONTROLS)
    controls = _by_id(data)
    assert controls["SEC-01"]["status"] == "fail"
    assert controls["SEC-03"]["status"] == "fail"
    assert controls["SEC-02"]["status"] == "error"
    assert controls["SEC-02"]["reason"] == "harness error: KeyError: 'csrf_token'"
    assert controls["SEC-06"]["status"] == "pass"


def test_every_failed_control_has_a_finding_and_sarif_has_them_all(run) -> None:
    _, folder, data = run(CONTROLS)
    failed = {c["id"] for c in data["controls"] if c["status"] == "fail"}
    assert {f["control"] for f in data["findings"]} == failed
    synthesized = {f["control"]: f for f in data["findings"] if f["synthesized"]}
    assert set(synthesized) == {"SEC-01", "SEC-03"}  # SEC-05 reported its own
    sec01 = synthesized["SEC-01"]
    assert sec01["rule"] == "SEC-01" and sec01["severity"] == _by_id(data)["SEC-01"]["severity"]
    assert sec01["url"] == "http://127.0.0.1:9/api/things" and sec01["method"] == "GET"
    assert "no Content-Security-Policy header" in sec01["description"]
    assert sec01["evidence_paths"] == [e["path"] for e in _by_id(data)["SEC-01"]["evidence"]]
    own = next(f for f in data["findings"] if f["rule"] == "probe:sqli")
    assert own["evidence_paths"] == [e["path"] for e in _by_id(data)["SEC-05"]["evidence"]]
    assert own["evidence_paths"]
    sarif = json.loads((folder / "results.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert len(results) == len(data["findings"])
    assert {r["partialFingerprints"]["harnessFinding/v1"] for r in results} == {
        f["id"] for f in data["findings"]
    }


def test_one_pass_writes_a_sealed_run_folder_named_by_its_id(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.report

    calls: list[str] = []
    real = harness.report.render_all

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("render")
        return real(*args, **kwargs)

    monkeypatch.setattr(harness.report, "render_all", counting)
    result, folder, data = run(CONTROLS)
    assert calls == ["render"]  # rendered exactly once
    assert folder.name == data["run"]["id"]
    assert data["gate"]["passed"] is False  # the default policy: every control must pass
    assert data["run"]["signing_key"]["generated"] is True
    assert verify(folder).ok
    assert data["run"]["signing_key"]["fingerprint"] in (folder / "report.html").read_text()
    result.stdout.fnmatch_lines(["*gate FAILED*sealed*"])


def test_the_next_run_compares_with_the_previous_one(run) -> None:
    _, first, _ = run(CONTROLS)
    _, second, data = run(CONTROLS.replace('assert False, "injection"', "pass"))
    assert first != second
    assert data["run"]["previous_id"] == first.name
    assert f"Changes since {first.name}" in (second / "summary.md").read_text()
    assert verify(first).ok and verify(second).ok


def test_a_policy_file_is_applied_in_the_run(run, pytester: pytest.Pytester) -> None:
    policy = pytester.path / "policy.toml"
    policy.write_text('required = ["SEC-06"]\nfail_on = []\n')
    _, folder, data = run(CONTROLS, "--harness-policy", str(policy))
    assert data["gate"]["passed"] is True
    assert data["gate"]["policy"] == str(policy)
    assert verify(folder).ok


def test_a_bad_policy_or_key_stops_the_run_in_one_line(run, pytester: pytest.Pytester) -> None:
    policy = pytester.path / "policy.toml"
    policy.write_text("required = 3\n")
    result, _, data = run(CONTROLS, "--harness-policy", str(policy))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and not data
    result.stderr.fnmatch_lines(["*harness: *policy.toml: required: *"])
    result, _, data = run(CONTROLS, "--harness-signing-key", str(pytester.path / "no.pem"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR and not data
    result.stderr.fnmatch_lines(["*signing key*no.pem: cannot read*"])


def test_gate_command_records_and_reseals(run, pytester: pytest.Pytester) -> None:
    from click.testing import CliRunner

    from harness.commands.report_cmds import gate

    _, folder, _ = run(CONTROLS)
    policy = pytester.path / "policy.toml"
    policy.write_text('required = ["SEC-06"]\nfail_on = []\n')
    done = CliRunner().invoke(gate, ["--policy", str(policy), str(folder / "results.json")])
    assert done.exit_code == 0, done.output
    data = json.loads((folder / "results.json").read_text())
    assert data["gate"]["passed"] is True
    assert "Gate passed" in (folder / "report.html").read_text()
    assert verify(folder).ok
