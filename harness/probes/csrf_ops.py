"""The CSRF cases (``harness.probes.csrf``) sent to one API operation, on every state-changing
method the target has.

A DELETE that goes through consumes its object, so a DELETE case is sent to an object the probe
created for it through the POST of the listing the route addresses (``fresh_object``), and a
new one is made after each case that removed it: the probe never deletes what it did not create.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.operations import Operation, build_request, collection_for, first_id
from harness.probes.actor import Actor
from harness.probes.bounded import Fetched, fetch
from harness.probes.csrf import accepted, cases

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


class Judged(BaseModel):
    """What one operation answered to each case."""

    op: str
    outcomes: list[dict[str, Any]] = Field(default_factory=list)
    control_ok: bool = False  # the same-origin request with the token went through
    why_not: str = "the same-origin request with the token did not succeed"
    accepted_cases: list[tuple[str, Fetched]] = Field(
        default_factory=list, description="(case, response) a cross-site request carried out"
    )


def fresh_object(
    send: Callable[..., Fetched], op: Operation, ops: list[Operation], ids: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    """``ids`` with ``op``'s object parameter set to a new object, created (with the session's
    token, from our own origin) through the POST of the listing ``op``'s path addresses; or
    None and why not."""
    names = op.path_param_names
    listing = collection_for(op, ops) if names else None
    if listing is None:
        return None, "no listing of the objects this route addresses"
    creator = next(
        (o for o in ops if o.method == "POST" and o.path == listing.path and o.body_schema), None
    )
    if creator is None:
        return None, f"no POST {listing.path} to create an object the probe may delete"
    method, path, kwargs = build_request(creator, ids)
    response = send(method, path, **kwargs)
    try:
        payload = json.loads(response.body) if response.status in (200, 201) else None
    except ValueError:
        payload = None
    # A created object is its own answer; first_id would pick an item of a list field.
    new = payload.get("id") if isinstance(payload, dict) and "id" in payload else first_id(payload)
    if new is None:
        return None, f"creating through {method} {path} gave HTTP {response.status} and no id"
    return {**ids, f"{op.path}:{names[-1]}": new, names[-1]: new}, f"created {path} id {new}"


def _form_body(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        return {}
    return {k: str(v) for k, v in body.items() if not isinstance(v, dict | list)}


def judge_operation(
    actor: Actor,
    op: Operation,
    ops: list[Operation],
    ids: dict[str, Any],
    *,
    csrf_header: str | None,
    own_origin: str,
) -> Judged:
    """Every case on ``op``; ``ops`` (all operations) supplies the creator for a DELETE."""
    judged = Judged(op=op.key)
    method, path, kwargs = build_request(op, ids)
    victim: dict[str, Any] | None = None  # a DELETE's object, until a case removes it
    for case in cases(csrf_header, actor.session.csrf_token, own_origin):
        if op.method == "DELETE" and victim is None:
            victim, how = fresh_object(actor.send, op, ops, ids)
            if victim is None:
                judged.why_not = f"not tried: {how}"
                break
            method, path, kwargs = build_request(op, victim)
        send_kwargs = dict(kwargs)
        if case.form:
            send_kwargs["data"] = _form_body(send_kwargs.pop("json", None))
        # The session's own CSRF header must not be added: the raw client sends the cookie
        # jar but leaves the headers to the case.
        response = fetch(
            actor.session.client, method, path, total_s=8, headers=case.headers, **send_kwargs
        )
        if response.status == 401:
            actor.relogin()
            continue
        ok = accepted(response)
        if ok:
            victim = None  # removed (DELETE): the next case needs a new object
        judged.outcomes.append({"case": case.name, "status": response.status, "accepted": ok})
        if case.expect_success:
            judged.control_ok = ok
        elif ok and not case.informational:
            judged.accepted_cases.append((case.name, response))
    return judged
