"""Exports: a known control (SEC-05, the sample run's SQL injection) lands in OSCAL, HDF and
DefectDojo with its refs and NIST mapping, and each format passes its consumers' checks; a
broken document fails them (each check can fail)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.commands.audit_cmds import export
from harness.export import export_document
from harness.export.checks import _compare_summary, check_defectdojo, check_hdf, check_oscal
from harness.export.refs import control_refs
from harness.export.tools import find_node_tools
from harness.results import load_results

SAMPLE = Path(__file__).parent / "data" / "sample-run" / "results.json"
# SEC-05 in the catalog: roadmap §9, OWASP A03, ASVS 5.3.4, CWE-89; the crosswalk maps CWE-89
# to SI-10.
SEC05 = {"§9", "A03", "5.3.4", "CWE-89", "SI-10"}


@pytest.fixture(scope="module")
def results():
    return load_results(SAMPLE)


def test_refs_map_cwe_to_nist() -> None:
    refs = control_refs({"cwe": [89, 352, 1333]})
    assert refs.nist == ["SI-10", "AC-3"]  # CWE-1333 has no public mapping: none is guessed
    assert "NIST SP 800-53 SI-10" in refs.labels()


def _props(items: list[dict[str, Any]]) -> set[str]:
    return {p["value"] for p in items}


def test_oscal_carries_the_control_and_validates(results) -> None:
    data = export_document(results, "oscal")
    result = data["assessment-results"]["results"][0]
    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "SEC-05")
    assert _props(finding["props"]) >= SEC05
    assert finding["target"]["status"]["state"] == "not-satisfied"
    observation = next(o for o in result["observations"] if o["title"].startswith("SEC-05 "))
    assert _props(observation["props"]) >= SEC05
    selected = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert {"control-id": "si-10"} in selected
    # A control that was not evaluated has an observation but no finding: no failure claimed.
    skipped = [c.id for c in results.controls if c.status.value == "not_evaluated"]
    assert skipped and not [f for f in result["findings"] if f["target"]["target-id"] in skipped]
    assert check_oscal(data).status == "valid"
    broken = copy.deepcopy(data)
    del broken["assessment-results"]["results"][0]["reviewed-controls"]
    assert check_oscal(broken).status == "invalid"


def test_hdf_carries_the_control(results) -> None:
    data = export_document(results, "hdf")
    control = next(c for c in data["profiles"][0]["controls"] if c["id"] == "SEC-05")
    tags = control["tags"]
    assert tags["nist"] == ["SI-10"] and tags["cwe"] == ["CWE-89"]
    assert tags["owasp"] == ["A03"] and tags["asvs"] == ["5.3.4"] and tags["roadmap"] == ["§9"]
    assert control["results"][0]["status"] == "failed"


def test_hdf_validates_with_inspecjs_and_saf(results) -> None:
    tools = find_node_tools()
    if isinstance(tools, str):
        pytest.skip(tools)
    data = export_document(results, "hdf")
    schema, saf = check_hdf(data)
    print(schema.detail, "|", saf.detail)
    assert schema.status == "valid", schema.detail
    assert saf.status == "valid", saf.detail
    broken = copy.deepcopy(data)
    broken["profiles"][0]["controls"][0]["results"][0]["status"] = "fine"
    broken["profiles"][0]["controls"][1]["results"] = "none"
    schema, saf = check_hdf(broken)
    assert schema.status == "invalid" and saf.status == "not_evaluated"


def test_saf_summary_that_disagrees_is_invalid(results, tmp_path) -> None:
    data = export_document(results, "hdf")
    summary = tmp_path / "summary.json"
    totals = {"passed": {"total": 30}, "failed": {"total": 1}, "error": {"total": 1}}
    summary.write_text(json.dumps([{"compliance": 50, **totals}]))
    check = _compare_summary("saf", data, summary, 0, "")
    assert check.status == "invalid" and "failed 1" in check.detail and "failed 2" in check.detail
    totals["failed"]["total"] = 2
    summary.write_text(json.dumps([{"compliance": 50, **totals}]))
    assert _compare_summary("saf", data, summary, 0, "").status == "valid"


def test_hdf_check_without_tools_is_not_evaluated(results, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_NODE_TOOLS", str(tmp_path))
    checks = check_hdf(export_document(results, "hdf"))
    assert [c.status for c in checks] == ["not_evaluated", "not_evaluated"]
    assert "scripts/setup" in checks[0].detail


def test_defectdojo_carries_the_finding(results) -> None:
    data = export_document(results, "defectdojo")
    finding = next(f for f in data["findings"] if f["title"].startswith("SEC-05"))
    assert finding["severity"] == "Critical" and finding["cwe"] == 89
    assert {"SEC-05", "A03", "SI-10"} <= set(finding["tags"])
    for label in ("Roadmap §9", "OWASP A03:2021", "ASVS 5.3.4", "CWE-89", "SI-10"):
        assert label in finding["references"]
    assert finding["unique_id_from_tool"] == "4c555b6d4bc79f8b"
    assert check_defectdojo(data).status == "valid"
    assert check_defectdojo({"findings": [{"title": "x"}]}).status == "invalid"


def test_export_command_writes_and_checks(tmp_path) -> None:
    out = tmp_path / "dojo.json"
    result = CliRunner().invoke(
        export, ["--format", "defectdojo", "--out", str(out), "--check", str(SAMPLE)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["findings"]
    missing = CliRunner().invoke(export, ["--format", "hdf", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
