"""Reports rendered from results.json: HTML (static checks), JUnit XML, SARIF, Markdown."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from harness.catalog import load_catalog
from harness.commands.report_cmds import report
from harness.report import render_all
from harness.report.html import script_hash, static_script
from harness.results import Results, json_schema, load_results

DATA = Path(__file__).parent / "data"
SCHEMA_DOC = Path(__file__).parents[1] / "docs" / "results-schema.json"


@pytest.fixture(scope="module")
def sample() -> Results:
    return load_results(DATA / "sample-run" / "results.json")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, sample: Results) -> Path:
    out = tmp_path_factory.mktemp("report")
    previous = load_results(DATA / "previous-results.json")
    render_all(sample, out, previous=previous, run_dir=DATA / "sample-run")
    return out


def test_results_schema_doc_is_current() -> None:
    assert json.loads(SCHEMA_DOC.read_text()) == json_schema(), (
        "docs/results-schema.json is stale: run python -m harness.results"
    )


def test_sample_results_validate_against_the_schema(sample: Results) -> None:
    raw = json.loads((DATA / "sample-run" / "results.json").read_text())
    jsonschema.validate(raw, json_schema())
    assert sample.summary["total"] == len(sample.controls) == len(load_catalog())


# -- HTML --------------------------------------------------------------------------------------
def test_html_is_self_contained(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    # Nothing that could fetch: no external src/href, no @import or url() to the network.
    for attribute in re.findall(r'(?:src|href|action)="([^"]*)"', html):
        assert not re.match(r"(?i)(https?:|//|ftp:)", attribute), attribute
    assert "@import" not in html and not re.search(r"url\((?!data:)", html)
    assert '<link rel="icon" href="data:,">' in html
    assert html.count("<script") == 1


def test_html_csp_pins_the_static_script(rendered: Path) -> None:
    html = (rendered / "report.html").read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = html_lib.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "style-src 'unsafe-inline'" in policy
    script = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    assert script is not None and script.group(1) == static_script()
    assert f"script-src '{script_hash(script.group(1))}'" in policy


def test_html_content(rendered: Path, sample: Results) -> None:
    html = (rendered / "report.html").read_text()
    # Verdict first: the headline comes before the areas and the matrix.
    assert html.index('id="verdict"') < html.index('id="areas"') < html.index('id="matrix"')
    assert html.count("<tr data-status=") == len(sample.controls)
    assert "caught 2/3 faults, 0 false alarms" in html
    assert "Changes since run 20261123T020000Z-81b7e0" in html
    assert "data:image/png;base64,iVBORw0KGgo" in html  # the SEC-06 screenshot, inlined
    assert "strict-transport-security: max-age=31536000" in html  # an evidence excerpt
    assert "p95 latency (ms)" in html and "<svg" in html
    assert "ASVS 5.3.4" in html and "CWE-89" in html


# -- JUnit ---------------------------------------------------------------------------------------
def test_junit_one_testcase_per_control(rendered: Path, sample: Results) -> None:
    root = ET.parse(rendered / "junit.xml").getroot()  # noqa: S314 - our own output
    cases = root.findall(".//testcase")
    assert len(cases) == len(sample.controls)
    assert root.get("tests") == str(len(sample.controls))
    assert root.get("failures") == "2" and root.get("errors") == "1"
    assert root.get("skipped") == str(sample.summary["planned"] + 2)  # + not_evaluated, n/a
    sec05 = next(c for c in cases if c.get("name", "").startswith("SEC-05"))
    failure = sec05.find("failure")
    assert failure is not None and "delayed 3.02 s" in (failure.get("message") or "")


def test_junit_survives_control_characters(tmp_path: Path, sample: Results) -> None:
    hostile = sample.model_copy(deep=True)
    hostile.controls[0].reason = "bad \x00\x1b[31m header\x0b"
    hostile.controls[0].status = hostile.controls[0].status.__class__("fail")
    render_all(hostile, tmp_path)
    ET.parse(tmp_path / "junit.xml")  # noqa: S314 - parses: invalid characters were replaced


# -- SARIF ---------------------------------------------------------------------------------------
# The official SARIF 2.1.0 JSON schema cannot be fetched here and is not vendored, so this is a
# subset written from the specification's normative requirements for the parts we emit
# (sarifLog, run, tool/toolComponent, reportingDescriptor, result, message, location), strict
# about the enumerations a consumer such as GitHub code scanning rejects. It is not the full
# official schema.
_MESSAGE = {
    "type": "object",
    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
    "properties": {"text": {"type": "string"}},
}
_PROPS = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
}
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": _MESSAGE,
                                                "fullDescription": _MESSAGE,
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {
                                                        "level": {
                                                            "enum": [
                                                                "none",
                                                                "note",
                                                                "warning",
                                                                "error",
                                                            ]
                                                        }
                                                    },
                                                },
                                                "properties": _PROPS,
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "invocations": {
                        "type": "array",
                        "items": {"type": "object", "required": ["executionSuccessful"]},
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "kind": {
                                    "enum": [
                                        "notApplicable",
                                        "pass",
                                        "fail",
                                        "review",
                                        "open",
                                        "informational",
                                    ]
                                },
                                "message": _MESSAGE,
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            }
                                                        },
                                                    }
                                                },
                                            },
                                            "logicalLocations": {"type": "array"},
                                        },
                                    },
                                },
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                                "suppressions": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["kind"],
                                        "properties": {"kind": {"enum": ["inSource", "external"]}},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_structure(rendered: Path, sample: Results) -> None:
    sarif = json.loads((rendered / "results.sarif").read_text())
    jsonschema.validate(sarif, SARIF_SUBSET)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    # SARIF is rendered from results.json's findings alone: one result per finding.
    assert len(run["results"]) == len(sample.findings)
    finding_rules = {
        r["ruleId"] for r in run["results"] if "harnessFinding/v1" in r["partialFingerprints"]
    }
    assert finding_rules == {f.rule for f in sample.findings}
    sec05 = rules[ids.index("SEC-05")]
    assert sec05["properties"]["security-severity"] == "9.5"
    assert "external/cwe/cwe-89" in sec05["properties"]["tags"]


# -- Markdown -----------------------------------------------------------------------------------
def test_summary_markdown(rendered: Path) -> None:
    text = (rendered / "summary.md").read_text()
    assert text.startswith("## Compliance report: ❌")
    assert "| Security hardening | 2 | 1 | 1 |" in text
    assert "SEC-05 No SQL injection" in text
    assert "new failure: SEC-05 pass → fail" in text


def test_summary_escapes_target_text(sample: Results) -> None:
    from harness.report.summary import render

    hostile = sample.model_copy(deep=True)
    hostile.controls[0].status = hostile.controls[0].status.__class__("fail")
    hostile.controls[0].reason = "x | y <img src=x onerror=alert(1)> [link](http://evil)\nnext"
    text = render(hostile)
    line = next(line for line in text.splitlines() if line.startswith("| AUTH-01"))
    assert "<img" not in line and "&lt;img" in line
    assert not re.search(r"(?<!\\)\]\(", line)  # no live link
    assert line.count(" | ") == 3  # the pipe in the reason did not open a cell


# -- the command ---------------------------------------------------------------------------------
def test_report_command_rerenders_and_reseals(tmp_path: Path) -> None:
    from harness.commands.verify_cmds import verify

    run = tmp_path / "reports" / "20261124T020000Z-3fa9c2"
    shutil.copytree(DATA / "sample-run", run)
    shutil.copy(DATA / "previous-results.json", tmp_path / "previous.json")
    done = CliRunner().invoke(
        report, [str(run / "results.json"), "--previous", str(tmp_path / "previous.json")]
    )
    assert done.exit_code == 0, done.output
    assert (run / "report.html").is_file() and (run / "summary.md").is_file()
    checked = CliRunner().invoke(verify, [str(run)])
    assert checked.exit_code == 0, checked.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert "report.html" in {f["path"] for f in manifest["files"]}
    fingerprint = json.loads((run / "results.json").read_text())["run"]["signing_key"]
    assert fingerprint["fingerprint"] in (run / "report.html").read_text()


def test_report_finds_the_previous_run_by_id(tmp_path: Path) -> None:
    """A re-rendered run shows its change list against the run it names, not reports/latest."""
    reports = tmp_path / "reports"
    older = Results.model_validate_json((DATA / "previous-results.json").read_text())
    (reports / older.run.id).mkdir(parents=True)
    (reports / older.run.id / "results.json").write_text(older.model_dump_json())
    run = reports / "20261124T020000Z-3fa9c2"
    shutil.copytree(DATA / "sample-run", run)
    data = json.loads((run / "results.json").read_text())
    data["run"]["previous_id"] = older.run.id
    (run / "results.json").write_text(json.dumps(data))
    done = CliRunner().invoke(report, [str(run / "results.json")])
    assert done.exit_code == 0, done.output
    assert f"Changes since {older.run.id}" in (run / "summary.md").read_text()
