"""API-04 excessive data exposure: the GET answers a user reaches carry no sensitive-named or
undocumented properties."""

from __future__ import annotations

import pytest

from harness.api.actors import Actor
from harness.api.exposure import probe_exposure
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.target import Target
from harness.verdicts import NotEvaluated


@pytest.mark.control("API-04")
def test_responses_expose_no_sensitive_or_undocumented_properties(
    actor: Actor, target: Target, evidence: Evidence
) -> None:
    user = actor.user
    document = target.openapi if actor.found.source == "openapi" else None
    report = probe_exposure(actor.send(), actor.operations, document)
    evidence.json("exposure walk", report.model_dump())
    budget = report.budget_line()
    for item in report.exposures:
        evidence.finding(
            Finding(
                rule=f"probe:{item.kind}-property",
                title=f"{item.kind} property {item.pointer} in the answer of {item.operation}",
                severity=Severity.HIGH if item.kind == "sensitive" else Severity.MEDIUM,
                confidence=Confidence.CONFIRMED,
                control="API-04",
                cwe=213,
                owasp="A01",
                method="GET",
                url=target.url(item.url_path),
                parameter=item.pointer,
                evidence=f"{item.value_type}"
                + (f" of length {item.value_length}" if item.value_length is not None else ""),
            )
        )
    assert not report.exposures, f"answers to {user}'s GETs expose properties ({budget}): " + (
        "; ".join(f"{e.operation} {e.pointer} ({e.kind})" for e in report.exposures[:10])
    )
    if not report.checked:
        raise NotEvaluated(f"no GET answer could be read as JSON: {budget}")
    evidence.text("coverage", budget)
    evidence.figure("GET operations checked", len(report.checked), "operations")
    print(f"API-04: {budget}")
