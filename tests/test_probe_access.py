"""Anonymous-call and two-user matrix probes against the in-process fake target."""

from __future__ import annotations

import httpx
from fake_auth_target import OPENAPI, fake_target

from harness.auth import Session, login
from harness.operations import RequestSpec, operations
from harness.probes.access import (
    Sender,
    classify_anonymous,
    discover_objects,
    probe_anonymous,
    send,
)
from harness.probes.access_matrix import cross_access


def _sender(session: Session) -> Sender:
    def go(spec: RequestSpec) -> httpx.Response:
        return send(session.client, spec, session.headers_for_write())

    return go


def _matrix(**flags: bool) -> tuple[list[str], list[str]]:
    target, _ = fake_target("form", **flags)
    ops = operations(OPENAPI)
    owner, other = login(target, "alice"), login(target, "bob")
    found = discover_objects(_sender(owner), ops)
    theirs = discover_objects(_sender(other), [o for o in ops if o.method == "GET"])
    matrix = cross_access(
        "alice", "bob", _sender(owner), _sender(other), ops, found.pool, theirs.pool
    )
    assert matrix.objects == {"/api/items": [1]}
    assert [c.method for c in matrix.cells] == ["GET", "DELETE"]  # delete last
    return [c.verdict for c in matrix.cells], [c.path for c in matrix.violations]


def test_matrix_passes_when_ownership_is_checked() -> None:
    verdicts, violations = _matrix()
    assert verdicts == ["rejected", "rejected"] and violations == []


def test_matrix_catches_idor() -> None:
    verdicts, violations = _matrix(idor=True)
    assert verdicts == ["accepted", "accepted"]
    assert violations == ["/api/items/1", "/api/items/1"]


def test_anonymous_probe_skips_public_and_catches_open_delete() -> None:
    target, _ = fake_target("form", unauth_delete=True)
    owner = login(target, "alice")
    pool = discover_objects(_sender(owner), operations(OPENAPI)).pool
    with target.client() as anonymous:
        report = probe_anonymous(
            anonymous, operations(OPENAPI), public=["post /api/v1/auth/login"], pool=pool
        )
    assert report.public == ["POST /api/v1/auth/login"]
    assert [(c.operation, c.verdict) for c in report.calls] == [
        ("GET /api/items", "rejected"),
        ("GET /api/items/{item_id}", "rejected"),
        ("POST /api/items", "rejected"),
        ("DELETE /api/items/{item_id}", "accepted"),
    ]


def test_classify_anonymous() -> None:
    request = httpx.Request("GET", "https://t.test/x")
    login_redirect = httpx.Response(302, headers={"location": "/login?next=/x"}, request=request)
    assert classify_anonymous(login_redirect, ["/login"])[0] == "rejected"
    other_redirect = httpx.Response(302, headers={"location": "/home"}, request=request)
    assert classify_anonymous(other_redirect, ["/login"])[0] == "accepted"
    assert classify_anonymous(httpx.Response(422, request=request), [])[0] == "inconclusive"
