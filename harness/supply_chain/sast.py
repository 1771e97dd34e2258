"""SC-01: bandit over the source tree; high-severity, high-confidence findings not in the
baseline fail."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from harness.findings import Confidence, Finding, Severity
from harness.supply_chain.tools import Scanners, require_tool
from harness.verdicts import NotEvaluated

ENGINE = "bandit"


class BanditIssue(BaseModel):
    """One entry of bandit's JSON ``results`` (the fields the harness uses)."""

    test_id: str
    test_name: str = ""
    issue_severity: str
    issue_confidence: str
    issue_text: str = ""
    filename: str
    line_number: int = 0
    code: str = ""
    issue_cwe: dict[str, object] | None = None

    def key(self, root: Path) -> tuple[str, str, str]:
        """What identifies the finding across runs: rule, file and the flagged line's text
        (line numbers move when code is added above it)."""
        return (
            self.test_id,
            _relative(self.filename, root),
            _flagged_line(self.code, self.line_number),
        )

    def failing(self) -> bool:
        return self.issue_severity.upper() == "HIGH" and self.issue_confidence.upper() == "HIGH"


class SastResult(BaseModel):
    issues: list[BanditIssue]
    new: list[BanditIssue]
    accepted: int
    report: dict[str, object]
    files_scanned: int


def run_bandit(scanners: Scanners, tree: Path, work: Path, baseline: Path | None) -> SastResult:
    """bandit -r over ``tree`` (a staged copy of the source); ``baseline`` a bandit JSON report."""
    binary = require_tool("bandit", "pip install bandit")
    out = work / "bandit.json"
    run = scanners.run([binary, "-r", ".", "-f", "json", "-o", str(out), "-q"], cwd=tree)
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
        issues = [BanditIssue.model_validate(r) for r in report.get("results", [])]
    except (OSError, ValueError, ValidationError) as exc:
        raise NotEvaluated(
            f"bandit wrote no readable report (exit {run.returncode}): {exc}"
        ) from None
    accepted_keys = _baseline_keys(baseline) if baseline is not None else set()
    new = [i for i in issues if i.key(tree) not in accepted_keys]
    metrics = report.get("metrics", {})
    scanned = len([k for k in metrics if k != "_totals"]) if isinstance(metrics, dict) else 0
    return SastResult(
        issues=issues,
        new=new,
        accepted=len(issues) - len(new),
        report=report,
        files_scanned=scanned,
    )


def _baseline_keys(path: Path) -> set[tuple[str, str, str]]:
    """The accepted findings of a bandit JSON report (paths relative to the tree it scanned)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        issues = [BanditIssue.model_validate(r) for r in document.get("results", [])]
    except (OSError, ValueError, ValidationError) as exc:
        raise NotEvaluated(f"the SAST baseline {path} is not a bandit JSON report: {exc}") from None
    return {i.key(Path(".")) for i in issues}


def to_finding(issue: BanditIssue, root: Path) -> Finding:
    cwe = issue.issue_cwe.get("id") if issue.issue_cwe else None
    return Finding(
        rule=f"bandit:{issue.test_id}",
        title=f"{issue.test_id} {issue.test_name}: {issue.issue_text}",
        severity=_SEVERITY.get(issue.issue_severity.upper(), Severity.INFO),
        confidence=_CONFIDENCE.get(issue.issue_confidence.upper(), Confidence.LOW),
        engine=ENGINE,
        cwe=cwe if isinstance(cwe, int) else None,
        url=f"{_relative(issue.filename, root)}:{issue.line_number}",
        evidence=_flagged_line(issue.code, issue.line_number) or None,
    )


_SEVERITY = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_CONFIDENCE = {"HIGH": Confidence.HIGH, "MEDIUM": Confidence.MEDIUM, "LOW": Confidence.LOW}


def _relative(filename: str, root: Path) -> str:
    path = Path(filename)
    if path.is_absolute():
        try:
            path = path.relative_to(root)
        except ValueError:
            return path.as_posix()
    return path.as_posix().removeprefix("./")


def _flagged_line(code: str, line_number: int) -> str:
    """The flagged line of bandit's excerpt, without its line-number prefix."""
    for line in code.splitlines():
        number, _, text = line.partition(" ")
        if number.isdigit() and int(number) == line_number:
            return text.strip()
    return ""
