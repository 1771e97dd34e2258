"""SEC-12: cookie-authenticated state changes reject cross-site requests, on every
state-changing method the target has (DELETE included: each DELETE case removes an object the
probe created for it)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from harness.auth import no_cookie_reason
from harness.loopback import burst, source
from harness.operations import Operation, discover_ids, request_for
from harness.operations.crawl import csrf_fields, current_fields
from harness.probes.actor import Actor
from harness.probes.bounded import as_response, fetch
from harness.probes.csrf import form_accepted, form_cases
from harness.probes.csrf_ops import STATE_CHANGING, judge_operation
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack

SOURCE = source(88)


@pytest.mark.control("SEC-12")
def test_cross_site_state_changes_are_rejected(target, login, evidence):
    auth = target.profile.auth
    reason = no_cookie_reason(auth.flow)
    if reason:
        raise NotApplicable(f"{reason}: no ambient cookie a site could ride on")
    own = "{0.scheme}://{0.netloc}".format(urlsplit(target.base_url))
    actor = Actor(
        lambda: login(local_address=SOURCE),
        client_factory=lambda a: target.client(local_address=a),
        addresses=burst(88, 8),
    )
    found = target.operations(actor.session.client)
    evidence.text("operations", found.note)
    ops = [
        o
        for o in found.operations
        if o.method in STATE_CHANGING
        and "login" not in o.path
        and "logout" not in o.path
        and o.path != auth.logout_path
    ]
    # Deletes last: the writes before them may use the objects discovery found.
    ops.sort(key=lambda o: o.method == "DELETE")
    ids = discover_ids(
        actor.send,
        [o for o in ops if o.method != "DELETE"]
        + [o for o in found.operations if o.method == "GET"],
    )
    judged = []
    unjudged = []
    failures = []
    login_paths = [auth.login_path]
    for op in ops:
        if op.source == "crawl":
            _judge_form(actor, op, own, target.base_url, login_paths, judged, unjudged, failures)
            continue
        result = judge_operation(
            actor, op, found.operations, ids, csrf_header=auth.csrf_header, own_origin=own
        )
        failures.extend((op.key, name, response) for name, response in result.accepted_cases)
        if result.control_ok:
            judged.append({"op": op.key, "outcomes": result.outcomes})
        else:
            unjudged.append({"op": op.key, "outcomes": result.outcomes, "why": result.why_not})
    actor.close()
    # A cross-site success counts even where the positive control failed: it cannot be a
    # validation artefact when the change went through.
    evidence.json("operations judged (positive control succeeded)", judged)
    evidence.json("operations not judged", unjudged)
    for key, name, response in failures[:4]:
        evidence.http(as_response(response), title=f"accepted: {name} on {key}")
    assert judged or failures, (
        "no state-changing operation succeeded even with the token from our own origin, so "
        f"CSRF protection could not be judged ({len(unjudged)} operations tried)"
    )
    assert not failures, "cross-site state changes accepted:\n" + "\n".join(
        f"{key}: {name} -> HTTP {r.status}" for key, name, r in failures[:20]
    )


def _judge_form(actor, op: Operation, own, base_url, login_paths, judged, unjudged, failures):
    """A crawled HTML form: its token (if any) is a hidden field of a fresh copy of its page."""
    tokens = csrf_fields(op)
    outcomes = []
    control_ok = False
    for case in form_cases(bool(tokens), own):
        page = fetch(actor.session.client, "GET", op.page or "/", total_s=8)
        fields = dict(request_for(op, {}).form or {})
        fields.update(current_fields(op, page.url, page.body, base_url))
        for name in tokens:
            if case.field_token == "none":
                fields.pop(name, None)
            elif case.field_token == "wrong":
                fields[name] = "0" * max(len(str(fields.get(name, ""))), 16)
        response = fetch(
            actor.session.client,
            op.method,
            op.path,
            total_s=8,
            headers=case.headers,
            data={k: str(v) for k, v in fields.items()},
        )
        ok = form_accepted(response, login_paths)
        outcomes.append({"case": case.name, "status": response.status, "accepted": ok})
        if case.expect_success:
            control_ok = ok
        elif ok:
            failures.append((op.key, case.name, response))
    entry = {"op": op.key, "page": op.page, "token_fields": tokens, "outcomes": outcomes}
    if control_ok:
        judged.append(entry)
    else:
        unjudged.append({**entry, "why": "the same-origin form post did not succeed"})
