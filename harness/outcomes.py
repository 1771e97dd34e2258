"""Folding pytest outcomes into test verdicts, and test verdicts into control verdicts.

Precedence (documented in docs/results-schema.md, "Verdicts"):

* one test, several phases: ``error > fail > not_evaluated > not_applicable > pass``. A setup or
  teardown error is ``error`` even when the test body passed: the evidence is not trustworthy.
* one control, several tests: ``error > fail > not_evaluated > pass > not_applicable``. A failure
  always shows. A test that could not evaluate makes the whole control ``not_evaluated``: part of
  the claim was never checked, so it must not read as pass. A not-applicable test is ignored as
  long as another test of the control reached a verdict (that part of the claim does not apply
  to this target); the control is ``not_applicable`` only when every test was.
* inside a test's call phase, only an ``AssertionError`` (or ``pytest.fail``) is the check's own
  verdict, ``fail``. Any other exception is the harness going wrong (a probe, an adapter, a
  parse of the target's answer) and is ``error`` with the exception, never ``fail``: a probe
  that means "the target broke the claim" says so with ``assert``.
* the catalog and the profile come first: a ``planned`` control is ``planned`` whatever ran, a
  control the profile's ``not_applicable`` map names is ``not_applicable`` with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.catalog import Catalog, Control
from harness.findings import Confidence, Finding, Severity
from harness.results import ControlResult, EvidenceRef, TestResult
from harness.stack.base import LifecycleUnsupported
from harness.verdicts import NotApplicable, NotEvaluated, Verdict

# The check's own verdict: a failed assertion, pytest.fail, pytest.raises' "DID NOT RAISE".
_CHECK_FAILED: tuple[type[BaseException], ...] = (AssertionError, pytest.fail.Exception)
_MESSAGE_LIMIT = 500

_TEST_ORDER = [
    Verdict.ERROR,
    Verdict.FAIL,
    Verdict.NOT_EVALUATED,
    Verdict.NOT_APPLICABLE,
    Verdict.PASS,
]
_CONTROL_ORDER = [
    Verdict.ERROR,
    Verdict.FAIL,
    Verdict.NOT_EVALUATED,
    Verdict.PASS,
    Verdict.NOT_APPLICABLE,
]


@dataclass
class TestRecord:
    """What the controller learnt about one test from its reports (one per phase)."""

    nodeid: str
    controls: list[str]
    phases: list[tuple[Verdict, str | None]] = field(default_factory=list)
    duration_s: float = 0.0
    evidence: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)

    def verdict(self) -> tuple[Verdict, str | None]:
        if not self.phases:
            return Verdict.ERROR, "the test produced no outcome (worker crash?)"
        return min(self.phases, key=lambda phase: _TEST_ORDER.index(phase[0]))

    def result(self) -> TestResult:
        outcome, message = self.verdict()
        return TestResult(
            nodeid=self.nodeid,
            outcome=outcome,
            duration_s=round(self.duration_s, 3),
            message=message,
        )


def phase_verdict(
    report: pytest.TestReport, call: pytest.CallInfo[None]
) -> tuple[Verdict, str | None] | None:
    """The verdict of one phase (setup, call, teardown) of a control test, with its reason."""
    exc = call.excinfo.value if call.excinfo is not None else None
    if report.skipped:
        if hasattr(report, "wasxfail"):
            why = f"expected failure (xfail): {report.wasxfail}".rstrip(": ")
            return Verdict.NOT_EVALUATED, why
        if isinstance(exc, NotApplicable | NotEvaluated):
            return Verdict(exc.verdict), exc.reason
        if isinstance(exc, LifecycleUnsupported):
            return Verdict.NOT_APPLICABLE, str(exc)
        return Verdict.NOT_EVALUATED, f"skipped: {_skip_reason(report)}"
    if report.failed:
        if report.when != "call":
            return Verdict.ERROR, f"{report.when} error: {_failure_message(report)}"
        if exc is None or isinstance(exc, _CHECK_FAILED):
            # exc is None for a strict xfail that passed: the check's own outcome too.
            return Verdict.FAIL, _failure_message(report)
        return Verdict.ERROR, _clip(f"harness error: {type(exc).__name__}: {exc}")
    if report.when == "call":
        return Verdict.PASS, None
    return None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failure_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext.strip().splitlines()[-1:]
    if isinstance(message, list):
        message = message[0] if message else "failed"
    return _clip(str(message).strip())


def _clip(message: str) -> str:
    if len(message) <= _MESSAGE_LIMIT:
        return message
    return message[: _MESSAGE_LIMIT - 3] + "..."


def fold_control(tests: list[TestResult]) -> tuple[Verdict, str | None]:
    """The control's verdict and reason from its tests' verdicts."""
    if not tests:
        return Verdict.NOT_EVALUATED, "no test for this control ran"
    status = min((t.outcome for t in tests), key=_CONTROL_ORDER.index)
    reasons: list[str] = []
    for test in tests:
        if test.outcome == status and test.message and test.message not in reasons:
            reasons.append(test.message)
    if status == Verdict.PASS:
        return status, None
    reason = "; ".join(reasons[:3]) + (f"; (+{len(reasons) - 3} more)" if len(reasons) > 3 else "")
    return status, reason or None


def control_result(
    control: Control,
    records: list[TestRecord],
    evidence_hashes: dict[str, str],
    not_applicable: dict[str, str],
) -> ControlResult:
    tests = [record.result() for record in records]
    if control.planned:
        status: Verdict = Verdict.PLANNED
        planned_reason = "planned: the suite for this control is not built yet"
        if tests:
            planned_reason += f" ({len(tests)} test(s) ran; set planned = false to count them)"
        reason: str | None = planned_reason
    elif control.id in not_applicable:
        status, reason = Verdict.NOT_APPLICABLE, not_applicable[control.id]
    elif not tests:
        status, reason = Verdict.NOT_EVALUATED, "not selected: no test of this control ran"
    else:
        status, reason = fold_control(tests)
    evidence: list[EvidenceRef] = []
    seen: set[str] = set()
    for record in records:
        for item in record.evidence:
            path = item["path"]
            if path in seen or path not in evidence_hashes:
                continue
            seen.add(path)
            evidence.append(
                EvidenceRef(
                    kind=item["kind"],
                    title=item["title"],
                    path=path,
                    sha256=evidence_hashes[path],
                    test=record.nodeid,
                )
            )
    return ControlResult(
        id=control.id,
        title=control.title,
        area=control.area.value,
        status=status,
        severity=control.severity.value,
        claim=control.claim,
        method=control.method,
        refs=control.refs.model_dump(),
        evidence=evidence,
        duration_s=round(sum(t.duration_s for t in tests), 3),
        reason=reason,
        tests=tests,
    )


def fold_run(
    catalog: Catalog,
    records: list[TestRecord],
    *,
    strict: bool,
    evidence_hashes: dict[str, str],
    not_applicable: dict[str, str],
    only: Sequence[str] | None = None,
) -> tuple[list[ControlResult], list[str]]:
    """Control results for the areas this run covers, in catalog order, and those areas.

    A partial run (``pytest suites/owasp``) reports only the areas it touched, so running one
    suite never shows the others as failing or missing; the strict (full) run reports all. A
    run of chosen controls (``--controls``) reports just those: the rest of their areas was
    left out on purpose, not found wanting.
    """
    by_control: dict[str, list[TestRecord]] = {}
    for record in records:
        for control_id in record.controls:
            by_control.setdefault(control_id, []).append(record)
    if strict:
        areas = sorted({control.area.value for control in catalog})
    else:
        areas = sorted({catalog.get(cid).area.value for cid in by_control if cid in catalog})
    if only is not None:
        chosen = {cid for cid in only if cid in catalog}
        areas = sorted({catalog.get(cid).area.value for cid in chosen})
    results = [
        control_result(control, by_control.get(control.id, []), evidence_hashes, not_applicable)
        for control in catalog
        if control.area.value in areas and (only is None or control.id in chosen)
    ]
    return results, areas


def control_findings(
    controls: list[ControlResult],
    findings: list[Finding],
    run_dir: Path,
) -> list[Finding]:
    """Every finding, plus one for each failed control whose tests reported none.

    So that results.json (and the SARIF rendered from it) lists a finding for every failure:
    rule = control id, severity from the catalog, location = the URL the control's first HTTP
    evidence names, message = the control's reason, evidence = its evidence files.
    """
    reported = {finding.control for finding in findings if finding.control}
    out = list(findings)
    for control in controls:
        if control.status != Verdict.FAIL or control.id in reported:
            continue
        method, url = _evidence_location(control, run_dir)
        out.append(
            Finding(
                rule=control.id,
                title=control.title,
                severity=Severity(control.severity),
                confidence=Confidence.HIGH,
                engine="harness",
                control=control.id,
                url=url,
                method=method,
                description=control.reason or "the control failed (no reason recorded)",
                evidence_paths=[ref.path for ref in control.evidence],
                synthesized=True,
            )
        )
    return out


def _evidence_location(control: ControlResult, run_dir: Path) -> tuple[str | None, str | None]:
    """``(method, url)`` from the request line of the control's first HTTP evidence file."""
    for ref in control.evidence:
        if ref.kind != "http":
            continue
        try:
            with (run_dir / ref.path).open(encoding="utf-8", errors="replace") as handle:
                first = handle.readline().strip()
        except OSError:
            continue
        parts = first.split(" ")
        if len(parts) >= 2 and parts[1].startswith(("http://", "https://", "/")):
            return parts[0], parts[1]
    return None, None
