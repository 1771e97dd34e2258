"""Folding pytest outcomes into test verdicts, and test verdicts into control verdicts.

Precedence (documented in docs/results-schema.md, "Verdicts"):

* one test, several phases: ``error > fail > not_evaluated > not_applicable > pass``. A setup or
  teardown error is ``error`` even when the test body passed: the evidence is not trustworthy.
* one control, several tests: ``error > fail > not_evaluated > pass > not_applicable``. A failure
  always shows. A test that could not evaluate makes the whole control ``not_evaluated``: part of
  the claim was never checked, so it must not read as pass. A not-applicable test is ignored as
  long as another test of the control reached a verdict (that part of the claim does not apply
  to this target); the control is ``not_applicable`` only when every test was.
* the catalog and the profile come first: a ``planned`` control is ``planned`` whatever ran, a
  control the profile's ``not_applicable`` map names is ``not_applicable`` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.catalog import Catalog, Control
from harness.results import ControlResult, EvidenceRef, TestResult
from harness.verdicts import Verdict

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
) -> tuple[list[ControlResult], list[str]]:
    """Control results for the areas this run covers, in catalog order, and those areas.

    A partial run (``pytest suites/owasp``) reports only the areas it touched, so running one
    suite never shows the others as failing or missing; the strict (full) run reports all.
    """
    by_control: dict[str, list[TestRecord]] = {}
    for record in records:
        for control_id in record.controls:
            by_control.setdefault(control_id, []).append(record)
    if strict:
        areas = sorted({control.area.value for control in catalog})
    else:
        areas = sorted({catalog.get(cid).area.value for cid in by_control if cid in catalog})
    results = [
        control_result(control, by_control.get(control.id, []), evidence_hashes, not_applicable)
        for control in catalog
        if control.area.value in areas
    ]
    return results, areas
