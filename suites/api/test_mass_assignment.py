"""API-03 mass assignment: privileged or read-only properties sent at create or update are not
applied (read back from the object and from the user's identity document)."""

from __future__ import annotations

import pytest

from harness.api.actors import Actor
from harness.api.mass_assignment import MassAssignmentProbe
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.probes.coverage import safe_operations
from harness.profile import Profile
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated

_WRITES = ("POST", "PUT", "PATCH")


@pytest.mark.control("API-03")
def test_privileged_and_read_only_properties_are_not_applied(
    actor: Actor, profile: Profile, target: Target, evidence: Evidence
) -> None:
    user = actor.user
    ops = [op for op in actor.operations if op.method != "DELETE"]
    if not any(op.method in _WRITES for op in ops):
        # Nothing to assign to: the control does not apply, and says why.
        raise NotApplicable(
            f"no create or update operation among the target's ({actor.found.note})"
        )
    # Only where writes are allowed: a stack the harness started, or scope.allow_writes.
    allowed, coverage = safe_operations(target.safety, ops)
    if not any(op.method in _WRITES for op in allowed):
        coverage.conclude(noun="operations")
        raise NotEvaluated(f"no create or update operation may be sent ({actor.found.note})")
    probe = MassAssignmentProbe(actor.send(), allowed, profile.auth.me_path)
    report = probe.run()
    evidence.json("mass assignment trials", report.model_dump())
    summary = report.summary()
    evidence.text("summary", summary)
    for trial in report.effective:
        evidence.finding(
            Finding(
                rule="probe:mass-assignment",
                title=f"{trial.operation} applied the {trial.why} property {trial.prop!r}",
                severity=Severity.HIGH,
                confidence=Confidence.CONFIRMED,
                control="API-03",
                cwe=915,
                owasp="A01",
                method=trial.operation.split(" ", 1)[0],
                url=target.url(trial.path),
                parameter=trial.prop,
                evidence=f"sent {trial.sent!r}: HTTP {trial.status}; read back at {trial.where}"
                + ("" if trial.restored else "; the previous value could not be put back"),
            )
        )
    assert not report.effective, (
        f"{user}'s writes applied properties they must not ({summary}): "
        + ("; ".join(f"{t.operation} {t.prop}={t.sent!r} -> {t.where}" for t in report.effective))
    )
    if not report.trials:
        raise NotEvaluated(
            f"no extra property could be tried: {summary}; not exercised: "
            + "; ".join(f"{k} ({v})" for k, v in report.not_exercised.items())
        )
    coverage.conclude(len(ops) - len(coverage.held), noun="operations")
    evidence.figure("extra properties tried", len(report.trials), "properties")
    print(f"API-03: {summary}")
