"""SEC-04 and SEC-05 coverage: operations and parameters that only ever met 401/403/429 were not
checked, and the verdict says how many were."""

from __future__ import annotations

from harness.probes.injection import Attempt, PointResult
from harness.probes.validation import Outcome, Report


def _outcome(op: str, status: int) -> Outcome:
    return Outcome(op=op, mutation="m", status=status, structured=True)


def test_validation_coverage_counts_operations_reached() -> None:
    report = Report(
        outcomes=[
            _outcome("POST /a", 401),
            _outcome("POST /a", 401),
            _outcome("POST /b", 401),
            _outcome("POST /b", 400),
            _outcome("GET /c", 429),
        ]
    )
    assert report.operations() == ["POST /a", "POST /b", "GET /c"]
    assert report.checked() == ["POST /b"]
    assert report.coverage() == (
        "checked 1 of 3 operations; 2 answered only 401/403/429 or not at all"
    )
    assert Report(outcomes=[_outcome("POST /a", 403)]).checked() == []


def test_injection_point_reached_by_its_baseline() -> None:
    def attempt(status: int) -> Attempt:
        return Attempt(label="baseline", value="x", status=status, length=0, elapsed_s=0.0)

    assert PointResult(point="q", attempts=[attempt(200)]).reached
    assert not PointResult(point="q", attempts=[attempt(401)]).reached
    assert not PointResult(point="q", attempts=[]).reached
