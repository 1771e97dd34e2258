"""SEC-04: schema-violating input gets a structured 4xx, never a 5xx."""

from __future__ import annotations

import pytest

from harness.loopback import burst, source
from harness.operations import discover_ids
from harness.probes.actor import Actor
from harness.probes.bounded import as_response, fetch
from harness.probes.coverage import safe_operations
from harness.probes.validation import run
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(79)


@pytest.mark.control("SEC-04")
def test_schema_violating_input_is_rejected(target, login, evidence):
    auth = target.profile.auth
    actor = Actor(
        lambda: login(local_address=SOURCE),
        client_factory=lambda a: target.client(local_address=a),
        addresses=burst(79, 8),
    )
    found = target.operations(actor.session.client)
    evidence.text("operations", found.note)
    ops, walk = safe_operations(target.safety, found.operations)  # safe mode: writes held
    ids = discover_ids(actor.send, ops)

    def skip(op) -> bool:
        # Logging out would end the probe's own session; DELETE removes the objects the
        # remaining operations are addressed with.
        return op.method == "DELETE" or op.path == auth.logout_path or "logout" in op.path

    report = run(
        actor.send, ops, ids, per_op=15, total_s=45, skip=skip, csrf_header=auth.csrf_header
    )
    actor.close()
    evidence.json("input validation outcomes", report.model_dump(mode="json"))
    evidence.figure("mutations sent", len(report.outcomes), "requests")
    evidence.figure("relogins", actor.relogins, "logins")
    problems = report.problems
    # Replay the first few problems so the report carries the real request/response pairs.
    for outcome in problems[:3]:
        evidence.text(
            f"problem: {outcome.op}", f"{outcome.mutation}: {outcome.problem}\n{outcome.excerpt}"
        )
    if not problems and report.outcomes and found.source == "openapi":
        first = report.outcomes[0]
        # The public OpenAPI document as evidence: no credential needed.
        with target.client() as client:
            evidence.http(
                as_response(fetch(client, "GET", target.profile.target.openapi_path, total_s=5)),
                title="OpenAPI document probed",
            )
        evidence.text("sample outcome", f"{first.op} / {first.mutation}: HTTP {first.status}")
    if not report.outcomes:
        walk.conclude(0)  # everything with a body or parameters was a held-back write
        # Nothing sent is nothing checked: not the target's failure, and never a pass.
        raise NotEvaluated(f"no operation with a body or parameters was exercised ({found.note})")
    checked = report.checked()
    unreached = report.unreached()
    evidence.figure("operations checked", len(checked), "operations")
    evidence.figure("operations planned", len(report.planned), "operations")
    evidence.text(
        "coverage",
        report.coverage()
        + (
            "\nevery mutation of these answered 401/403/429 or not at all: " + ", ".join(unreached)
            if unreached
            else ""
        )
        + (
            "\nnot reached within the time budget: " + ", ".join(report.not_sent())
            if report.not_sent()
            else ""
        ),
    )
    assert not problems, (
        f"{len(problems)} of {len(report.outcomes)} schema-violating requests were mishandled "
        f"({report.coverage()}):\n"
        + "\n".join(
            f"{o.op} [{o.mutation}]: {o.problem} — {o.excerpt[:120]!r}" for o in problems[:25]
        )
    )
    if not checked:
        raise NotEvaluated(
            f"none of the {len(unreached)} operations exercised got past authentication or "
            "throttling (every mutation answered 401/403/429 or not at all): nothing was checked"
            f" ({report.coverage()})"
        )
    walk.conclude(len(checked))
