"""API-07 super-linear input handling: response time does not grow faster than the length of
string inputs (bounded, and stopped at the first sign of trouble)."""

from __future__ import annotations

import pytest

from harness.api.actors import Actor
from harness.api.superlinear import SuperlinearProbe, string_inputs
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated


@pytest.mark.control("API-07")
def test_response_time_grows_no_faster_than_string_inputs(
    actor: Actor, target: Target, evidence: Evidence
) -> None:
    found = actor.found
    inputs = string_inputs(actor.operations)
    # Templated paths would need real ids; a 404 measures nothing of the input's handling.
    plain = [(op, name) for op, name in inputs if not op.path_param_names]
    if not inputs:
        raise NotApplicable(
            f"no GET operation takes a string query parameter ({found.note}): "
            "no string input to grow"
        )
    probe = SuperlinearProbe(actor.send())
    report = probe.run(plain)
    report.inputs = len(inputs)
    report.left += [
        f"{op.key} query:{name}: templated path" for op, name in inputs if op.path_param_names
    ]
    evidence.json("timings", report.model_dump())
    summary = report.summary()
    evidence.text("summary", summary)
    for result in report.measured:
        if len(result.steps) > 1:
            first, last = result.steps[0], result.steps[-1]
            evidence.figure(
                f"{result.label} time growth {first.length}->{last.length} chars",
                last.median_ms / max(first.median_ms, 1.0),
                "x",
            )
    for result in report.superlinear:
        evidence.finding(
            Finding(
                rule="probe:superlinear-input",
                title=f"{result.label}: response time grows faster than the input",
                severity=Severity.MEDIUM,
                confidence=Confidence.HIGH,
                control="API-07",
                cwe=1333,
                owasp="A05",
                method="GET",
                url=target.url(result.operation.split(" ", 1)[1]),
                parameter=result.name,
                evidence=result.reason,
            )
        )
    assert not report.superlinear, f"super-linear input handling ({summary}): " + "; ".join(
        f"{r.label}: {r.reason}" for r in report.superlinear
    )
    if not report.measured:
        raise NotEvaluated(f"no string input could be measured: {summary}")
    print(f"API-07: {summary}")
