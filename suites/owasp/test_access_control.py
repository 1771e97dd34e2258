"""Access control over the target's operations (OpenAPI document or crawl): AUTH-10 (two-user
matrix over every object route) and AUTH-11 (every protected operation called anonymously)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from harness.auth import LoginFactory, Session
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.loopback import source
from harness.operations import Operation, RequestSpec, ValuePool
from harness.probes.access import (
    Sender,
    discover_objects,
    probe_anonymous,
    send,
)
from harness.probes.access_matrix import cross_access
from harness.probes.coverage import safe_operations
from harness.profile import Profile
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated

# Its own source address: the anonymous burst must not eat other tests' rate-limit budget.
ANON_SOURCE = source(91)
# The matrix's anonymous reads (is an object public by design?) come from an address of their own.
MATRIX_ANON_SOURCE = source(113)
_SESSION_ENDING = re.compile(r"log-?out|sign-?out|log-?in|sign-?in", re.IGNORECASE)


def _sender(session: Session) -> Sender:
    def go(spec: RequestSpec) -> httpx.Response:
        headers = (
            session.headers_for_write()
            if spec.method in ("POST", "PUT", "PATCH", "DELETE")
            else None
        )
        return send(session.client, spec, headers)

    return go


def _exclusions(profile: Profile) -> Callable[[Operation], bool]:
    """Operations a user's discovery must not call: logging in or out ends the experiment."""
    auth = profile.auth
    paths = {p for p in (auth.login_path, auth.api_login_path, auth.logout_path) if p}
    public = {p.strip() for p in auth.public_operations}

    def excluded(op: Operation) -> bool:
        return op.path in paths or op.key in public or bool(_SESSION_ENDING.search(op.path))

    return excluded


def _users(profile: Profile) -> list[str]:
    if profile.auth.flow in ("none", "anonymous-cookie"):
        raise NotApplicable(f"auth.flow is {profile.auth.flow!r}: the target has no users")
    names = [u.name for u in profile.auth.users if u.name != profile.auth.lockout_user]
    return names


def _login_paths(profile: Profile) -> list[str]:
    oauth = profile.auth.oauth
    return [profile.auth.login_path, *([oauth.start_path] if oauth is not None else [])]


@pytest.mark.control("AUTH-10")
def test_users_cannot_reach_each_others_objects(
    profile: Profile, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    names = _users(profile)
    if len(names) < 2:
        raise NotApplicable("the profile lists fewer than two users (auth.users)")
    excluded = _exclusions(profile)
    owner = login(names[0])
    found_ops = target.operations(owner.client)
    evidence.text("operations", found_ops.note)
    ops = found_ops.operations
    if not any(op.path_param_names for op in ops):
        raise NotEvaluated(
            f"no operation addresses an object by id ({found_ops.note}): "
            "nothing one user owns can be tried as the other"
        )
    found = discover_objects(_sender(owner), ops, exclude=excluded)
    # The other user logs in only now: sessions idle out while the owner is busy.
    other = login(names[1])
    others = discover_objects(
        _sender(other), [op for op in ops if op.method == "GET"], exclude=excluded, rounds=1
    )
    with target.client(local_address=MATRIX_ANON_SOURCE) as anonymous:
        matrix = cross_access(
            names[0],
            names[1],
            _sender(owner),
            _sender(other),
            ops,
            found.pool,
            others.pool,
            login_paths=_login_paths(profile),
            exclude=excluded,
            send_anonymous=lambda spec: send(anonymous, spec),
        )
    evidence.json("objects the owner created", [c.model_dump() for c in found.created])
    evidence.json("access matrix", matrix.model_dump())
    if matrix.not_cross_user:
        # 2xx answers the owner's read-back showed were not the owner's object: not reported.
        evidence.json(
            "2xx answers that were not cross-user (read back as the owner)",
            [c.model_dump() for c in matrix.not_cross_user],
        )
    for cell in matrix.violations:
        evidence.finding(
            Finding(
                rule="probe:idor",
                title=f"{names[1]} reached {names[0]}'s object",
                severity=Severity.HIGH,
                confidence=Confidence.CONFIRMED,
                control="AUTH-10",
                cwe=639,
                owasp="A01",
                method=cell.method,
                url=target.url(cell.path),
                evidence=f"{cell.reason}: {cell.response_excerpt[:200]}",
            )
        )
    if not matrix.cells:
        raise NotEvaluated(
            f"{names[0]} owns no object to try: creating through the API failed "
            f"(POST results: {[(c.operation, c.status) for c in found.created]}); "
            f"object routes left untested: {matrix.untested}"
        )
    assert not matrix.violations, f"{names[1]} reached {names[0]}'s objects: " + "; ".join(
        f"{c.method} {c.path} -> {c.reason}" for c in matrix.violations
    )
    if not any(c.verdict == "rejected" for c in matrix.cells):
        raise NotEvaluated(
            "no cross-user call was conclusively refused: "
            + "; ".join(f"{c.method} {c.path}: {c.reason}" for c in matrix.inconclusive[:10])
        )


@pytest.mark.control("AUTH-11")
def test_protected_operations_reject_anonymous_calls(
    profile: Profile, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    pool = ValuePool()
    names = [u.name for u in profile.auth.users if u.name != profile.auth.lockout_user]
    owner = None
    if profile.auth.flow not in ("none", "anonymous-cookie") and names:
        owner = login(names[0])
    # A crawl runs as the owner: the forms worth protecting are the ones behind the login.
    discovered = target.operations(owner.client if owner is not None else None)
    evidence.text("operations", discovered.note)
    ops, walk = safe_operations(target.safety, discovered.operations)  # safe mode: writes held
    if owner is not None:
        # Real object ids, so object routes are asked about objects that exist.
        pool = discover_objects(_sender(owner), ops, exclude=_exclusions(profile), rounds=2).pool
    with target.client(local_address=ANON_SOURCE) as anonymous:
        report = probe_anonymous(
            anonymous,
            ops,
            public=profile.auth.public_operations,
            login_paths=_login_paths(profile),
            pool=pool,
        )
    evidence.json("anonymous calls", report.model_dump())
    for call in report.accepted:
        evidence.finding(
            Finding(
                rule="probe:unauthenticated-operation",
                title="operation works without credentials",
                severity=Severity.HIGH,
                confidence=Confidence.CONFIRMED,
                control="AUTH-11",
                cwe=306,
                owasp="A01",
                method=call.method,
                url=target.url(call.path),
                evidence=f"HTTP {call.status}: {call.response_excerpt[:200]}",
            )
        )
    for call in report.inconclusive:
        evidence.finding(
            Finding(
                rule="probe:anonymous-refused-not-by-auth",
                title="anonymous call refused, but not with 401/403",
                severity=Severity.LOW,
                confidence=Confidence.MEDIUM,
                control="AUTH-11",
                cwe=862,
                owasp="A01",
                method=call.method,
                url=target.url(call.path),
                evidence=call.reason,
            )
        )
    if not report.calls:
        walk.conclude(0)  # every state-changing operation was held back
        raise NotApplicable(f"no secured or state-changing operation ({discovered.note})")
    assert not report.accepted, "operations that work without credentials: " + "; ".join(
        f"{c.method} {c.path} -> HTTP {c.status}" for c in report.accepted
    )
    if not report.rejected:
        raise NotEvaluated(
            "no anonymous call was refused with 401/403; every refusal came "
            "from elsewhere (validation, routing): "
            + "; ".join(f"{c.method} {c.path}: {c.reason}" for c in report.inconclusive[:10])
        )
    walk.conclude()
