"""SEC-07: errors disclose nothing (no stack traces, SQL, debug pages, version banners)."""

from __future__ import annotations

import pytest

from harness.loopback import burst, source
from harness.operations import discover_ids, operations
from harness.probes.actor import Actor
from harness.probes.bounded import as_response, fetch, unanswered_summary
from harness.probes.coverage import safe_surface
from harness.probes.errors import describe_folded, disclosures, folded
from harness.probes.read_walk import walk_reads
from harness.probes.surface import probe_errors, provoke_5xx
from harness.probes.valid_inputs import explore_valid
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(84)
OUTAGE_SOURCE = source(85)
# Pages and GET operations judged per run: bounded so a large site stays within the quick set.
READ_BUDGET = 80
READ_SECONDS = 25.0
EVIDENCE_SHOWN = 10  # disclosing responses kept as HTTP evidence (all are listed in JSON)
VALID_BUDGET = 30  # schema-valid variants of GET operations (other enum members, boundaries)


@pytest.mark.control("SEC-07")
def test_errors_disclose_nothing(target, login, evidence):
    profile = target.profile
    actor = Actor(
        lambda: login(local_address=SOURCE),
        client_factory=lambda a: target.client(local_address=a),
        addresses=burst(84, 8),
    )
    responses = []
    document, no_document = target.openapi_or_empty()
    walk = safe_surface(target.safety, document)  # safe mode: the writes held back
    if no_document:
        evidence.text("note", f"{no_document}: no API operations walked (pages and errors were)")
    ops = operations(walk.document)
    ids = discover_ids(actor.send, ops, create=False)
    with target.client(local_address=SOURCE) as anonymous:
        for path in [
            *profile.target.static_paths[:1],
            *([profile.target.openapi_path] if profile.target.openapi_path else []),
        ]:
            responses.append(fetch(anonymous, "GET", path, total_s=5))
        # Every page and read operation, not a sample: one page of many may be the one
        # that answers 500 with a traceback.
        reads = walk_reads(
            anonymous=anonymous,
            user=actor.session.client,
            base_url=target.base_url,
            pages=profile.target.pages,
            send=actor.send,
            ops=ops,
            ids=ids,
            skip=lambda op: "logout" in op.path or op.path == profile.auth.logout_path,
            max_requests=READ_BUDGET,
            total_s=READ_SECONDS,
        )
        responses.extend(reads.responses)
        # actor.session, not a copy taken earlier: a 401 on the walk logs in again and closes
        # the previous session's client (an app whose routes answer 401 by design does that).
        errors = probe_errors(
            actor.session.client,
            walk.document,
            write_headers=actor.session.headers_for_write(),
            me_path=profile.auth.me_path,
            anonymous=anonymous,
        )
    responses.extend(s.response for s in errors.samples)
    unanswered = [r for r in responses if r.status == 0] + errors.unanswered
    walk.hold(errors.held)
    if profile.auth.me_path:
        responses.append(actor.send("GET", profile.auth.me_path))
    crashes = provoke_5xx(
        actor.send,
        walk.document,
        ids,
        budget=25,
        csrf_header=profile.auth.csrf_header,
        unanswered=unanswered,
    )
    responses.extend(crashes)
    # Other enum members, boundaries, optional parameters present: errors the first enum
    # member never reaches.
    valid = explore_valid(
        actor.send,
        ops,
        ids,
        budget=VALID_BUDGET,
        skip=lambda op: "logout" in op.path or op.path == profile.auth.logout_path,
    )
    responses.extend(valid.answers)
    unanswered += [r for r in valid.answers if r.status == 0]
    actor.close()
    # A reset (a worker that crashed drops the socket) or a timeout discloses nothing and
    # leaves nothing to examine: recorded, and the other answers are judged.
    responses = [r for r in responses if r.status != 0]
    dropped = unanswered_summary(unanswered)
    evidence.figure("requests the target did not answer", len(unanswered), "requests")
    if dropped:
        evidence.text("requests the target did not answer", dropped)
    also = f" ({dropped})" if dropped else ""

    found = []
    for response in responses:
        for disclosure in disclosures(response, profile.target.own_server_names):
            # Body rules only apply to error answers: a page may legitimately show SQL text.
            if disclosure.where == "body" and response.status < 400:
                continue
            found.append(disclosure)
    error_statuses = sorted({r.status for r in responses if r.status >= 400})
    evidence.json(
        "responses examined",
        [{"method": r.method, "url": r.url, "status": r.status} for r in responses],
    )
    coverage = reads.coverage()
    evidence.text("pages and operations judged", coverage + "\n" + "\n".join(reads.left_out))
    evidence.figure("pages judged", reads.pages, "pages")
    evidence.figure("GET operations judged", reads.operations, "operations")
    coverage += f"; {valid.describe()}"
    evidence.json(
        "schema-valid variants",
        [
            f"{label} -> HTTP {r.status}"
            for label, r in zip(valid.labels, valid.answers, strict=True)
        ],
    )
    if not crashes:
        evidence.text(
            "5xx",
            "no 5xx could be provoked without disruption (NUL bytes, "
            "over-long strings, out-of-range ids): 5xx bodies were not examined",
        )
    grouped = folded(found)
    for disclosure, _ in grouped[:EVIDENCE_SHOWN]:
        match = next(
            r for r in responses if r.url == disclosure.url and r.status == disclosure.status
        )
        evidence.http(as_response(match), title=f"{disclosure.rule} in {disclosure.where}")
    if not found:
        for response in [r for r in responses if r.status >= 400][:3]:
            evidence.http(as_response(response), title=f"clean error {response.status}")
    assert error_statuses, f"no error response could be provoked to examine ({coverage})" + also
    assert not found, f"information disclosure ({coverage}){also}:\n" + "\n".join(
        describe_folded(entry) for entry in grouped[:20]
    )
    walk.conclude()


@pytest.mark.disruptive
@pytest.mark.control("SEC-07")
def test_errors_during_a_database_outage_disclose_nothing(target, stack, login, evidence):
    """A healthy app rarely answers 5xx; an outage makes it, and its 5xx must stay generic.

    The database is stopped (and started again, whatever happens) while a logged-in user calls
    the parameterless GET operations of the API; every 5xx body is examined for tracebacks,
    SQL and connection details.
    """
    profile = target.profile
    service = profile.datastores.database_service
    if not service:
        raise NotApplicable("the profile names no database service (datastores.database_service)")
    session = login(local_address=OUTAGE_SOURCE)
    paths = [profile.auth.me_path] if profile.auth.me_path else []
    paths += [
        op.path
        for op in operations(target.openapi)
        if op.method == "GET" and "{" not in op.path and op.path not in paths
    ][:8]
    stack.stop(service)
    try:
        responses = [fetch(session.client, "GET", path, total_s=10) for path in paths]
    finally:
        stack.start(service)
    server_errors = [r for r in responses if r.status >= 500]
    evidence.json(
        "responses during the outage",
        [{"url": r.url, "status": r.status, "error": r.error} for r in responses],
    )
    dropped = unanswered_summary(responses)
    if not server_errors:
        also = f" ({dropped})" if dropped else ""
        raise NotEvaluated(f"no 5xx while {service} was stopped: no error body to examine{also}")
    own = profile.target.own_server_names
    found = [d for r in server_errors for d in disclosures(r, own)]
    for response in server_errors[:3]:
        evidence.http(as_response(response), title=f"{response.status} during the outage")
    assert not found, "5xx answers disclose internals:\n" + "\n".join(
        d.describe()[:400] for d in found[:10]
    )
