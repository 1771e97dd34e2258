"""results.sarif (SARIF 2.1.0): results.json's findings for code-scanning dashboards.

Rendered from ``results.findings`` alone, one result per finding, so the two always agree (a
failed control with no finding of its own already carries a synthesized one, rule = control
id). Every reported control is a rule too (id = control id); other findings add their engine's
rule. GitHub code scanning needs a physical location for each result: the test file of the
finding's control (the check that tripped), plus the target URL as a logical location.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness import __version__
from harness.report.common import effective_status
from harness.results import ControlResult, Results
from harness.verdicts import Verdict

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/soulspot/soulspot-harness"
CATALOG_URI = "harness/catalog.toml"

# GitHub's numeric security-severity: >= 9 critical, >= 7 high, >= 4 medium, else low.
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "1.0",
}
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_NAME = re.compile(r"[^A-Za-z0-9]+")


def _rule_for_control(control: ControlResult) -> dict[str, Any]:
    refs = control.refs
    tags = ["compliance", control.area]
    tags += [f"owasp-{o}" for o in refs.get("owasp", [])]
    tags += [f"external/cwe/cwe-{c}" for c in refs.get("cwe", [])]
    help_lines = [f"Method: {control.method}"]
    for key in ("roadmap", "owasp", "api", "asvs", "cwe"):
        if refs.get(key):
            help_lines.append(f"{key}: {', '.join(str(v) for v in refs[key])}")
    return {
        "id": control.id,
        "name": _NAME.sub("", control.title.title()) or control.id,
        "shortDescription": {"text": control.title},
        "fullDescription": {"text": control.claim or control.title},
        "help": {"text": "\n".join(help_lines)},
        "defaultConfiguration": {"level": _LEVEL.get(control.severity, "warning")},
        "properties": {
            "tags": tags,
            "security-severity": _SECURITY_SEVERITY.get(control.severity, "5.5"),
        },
    }


def _test_location(control: ControlResult | None) -> dict[str, Any]:
    uri = CATALOG_URI
    if control is not None and control.tests:
        uri = control.tests[0].nodeid.split("::", 1)[0]
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}}


def render(results: Results) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    sarif_results: list[dict[str, Any]] = []
    controls = {c.id: c for c in results.controls}

    for control in results.controls:
        index[control.id] = len(rules)
        rules.append(_rule_for_control(control))

    waived = set(results.gate.waived) if results.gate else set()
    waived_controls = {
        c.id for c in results.controls if effective_status(results, c) == Verdict.WAIVED
    }
    for finding in results.findings:
        rule_id = finding.rule
        if rule_id not in index:
            index[rule_id] = len(rules)
            tags = ["security"] + ([f"external/cwe/cwe-{finding.cwe}"] if finding.cwe else [])
            rules.append(
                {
                    "id": rule_id,
                    "name": _NAME.sub("", finding.title.title()) or "Finding",
                    "shortDescription": {"text": finding.title},
                    "fullDescription": {"text": finding.description or finding.title},
                    "defaultConfiguration": {"level": _LEVEL[finding.severity.value]},
                    "properties": {
                        "tags": tags,
                        "security-severity": _SECURITY_SEVERITY[finding.severity.value],
                    },
                }
            )
        location = _test_location(controls.get(finding.control or ""))
        if finding.url:
            location["logicalLocations"] = [
                {
                    "fullyQualifiedName": f"{finding.method or 'GET'} {finding.url}",
                    "kind": "resource",
                }
            ]
        text = finding.title
        if finding.synthesized and finding.description:
            text += f": {finding.description}"
        if finding.parameter:
            text += f" (parameter {finding.parameter})"
        if finding.url:
            text += f" at {finding.method or 'GET'} {finding.url}"
        result: dict[str, Any] = {
            "ruleId": rule_id,
            "ruleIndex": index[rule_id],
            "level": _LEVEL[finding.severity.value],
            "message": {"text": text},
            "locations": [location],
            "partialFingerprints": {"harnessFinding/v1": finding.id},
            "properties": {
                "engine": finding.engine,
                "confidence": finding.confidence.value,
                "control": finding.control,
            },
        }
        if finding.evidence_paths:
            result["properties"]["evidence"] = list(finding.evidence_paths)
        if finding.id in waived or (finding.synthesized and finding.control in waived_controls):
            result["suppressions"] = [{"kind": "external", "justification": "waived by policy"}]
        sarif_results.append(result)

    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "soulspot-harness",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "automationDetails": {
                    "id": f"harness/{results.run.profile or 'run'}/{results.run.id}"
                },
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "startTimeUtc": results.run.start,
                        "endTimeUtc": results.run.end,
                    }
                ],
                "results": sarif_results,
            }
        ],
    }


def write(results: Results, path: Path) -> Path:
    path.write_text(json.dumps(render(results), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path
