"""API-03 mass assignment: privileged or read-only properties sent at create or update are not
applied (read back from the object and from the user's identity document)."""

from __future__ import annotations

import pytest

from harness.api.actors import excluded, probe_user, sender
from harness.api.mass_assignment import MassAssignmentProbe
from harness.auth import LoginFactory
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.probes.coverage import safe_operations
from harness.profile import Profile
from harness.target import Target
from harness.verdicts import NotEvaluated

_WRITES = ("POST", "PUT", "PATCH")


@pytest.mark.control("API-03")
def test_privileged_and_read_only_properties_are_not_applied(
    profile: Profile, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    user = probe_user(profile)
    session = login(user)
    found = target.operations(session.client)
    evidence.text("operations", found.note)
    skip = excluded(profile)
    ops = [op for op in found.operations if not skip(op) and op.method != "DELETE"]
    # Only where writes are allowed: a stack the harness started, or scope.allow_writes.
    allowed, coverage = safe_operations(target.safety, ops)
    if not any(op.method in _WRITES for op in allowed):
        coverage.conclude(noun="operations")
        raise NotEvaluated(f"no create or update operation among the target's ({found.note})")
    probe = MassAssignmentProbe(sender(session), allowed, profile.auth.me_path)
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
