"""API-08: oversized page sizes and request bodies get a 4xx (413), not a 5xx or a timeout."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.api.limits import largest_list, probe
from harness.api.sessions import login_user
from harness.loopback import source
from harness.operations.openapi import load
from harness.probes.coverage import safe_operations
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SLOT = 143
WRITES = {"POST", "PUT", "PATCH"}


@pytest.mark.control("API-08")
def test_oversized_page_sizes_and_bodies_are_refused(target, login, evidence) -> None:
    sessions: list[Any] = []
    try:
        _walk(target, login, evidence, sessions)
    finally:
        for session in sessions:
            if session is not None:
                session.close()


def _walk(target, login, evidence, sessions: list[Any]) -> None:
    auth = target.profile.auth
    loaded = load(target.openapi)
    evidence.text("operations", loaded.summary())
    ops, walk = safe_operations(target.safety, loaded.operations)
    own = {p for p in (auth.login_path, auth.api_login_path, auth.logout_path) if p}
    reads = [op for op in ops if op.method.upper() == "GET"]
    writes = [op for op in ops if op.method.upper() in WRITES and op.path not in own]
    users = [user.name for user in auth.users] if auth.flow != "none" else []
    failures: list[str] = []
    if not users:
        sessions.append(login())

    def session_of(number: int) -> Any:
        while len(sessions) < number:  # the operation needs another user: log them in
            name = users[len(sessions)]
            sessions.append(login_user(target, name, source(SLOT, len(sessions) + 1), failures))
        return sessions[number - 1]

    def send(method: str, path: str, params: dict[str, Any], body: Any) -> tuple[int, int, str]:
        for number in range(1, max(1, len(users)) + 1):
            session = session_of(number)
            if session is None:
                continue
            try:
                response = session.request(method, path, params=params, json=body)
            except httpx.HTTPError as exc:
                return 0, 0, type(exc).__name__
            if response.status_code not in (401, 403) or number >= len(users):
                try:
                    items = largest_list(response.json())
                except ValueError:
                    items = 0
                return response.status_code, items, ""
        return 0, 0, "no session"

    report = probe(reads, writes, send)
    evidence.json("resource limit outcomes", report.model_dump(mode="json"))
    evidence.figure("oversized requests", len(report.outcomes), "requests")
    problems = report.problems
    coverage = f"{len(report.outcomes)} oversized requests over {len(ops)} operations"
    if walk.held:
        coverage += f"; {len(walk.held)} operations held back by the safety mode"
    if problems:
        shown = "; ".join(f"{p.operation} {p.sent}: {p.problem}" for p in problems[:5])
        pytest.fail(f"{len(problems)} oversized request(s) not refused: {shown}", pytrace=False)
    if not report.outcomes:
        raise NotEvaluated("no page-size parameter and no JSON write operation to probe")
    if walk.held:
        raise NotEvaluated(
            f"needs safety = intrusive ({coverage}; nothing found on what was checked)"
        )
    evidence.text("verdict", f"every oversized request refused or clamped ({coverage})")
