"""API-09: stateful consistency: a created resource is retrievable, a deleted one is gone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.api.lifecycle import probe
from harness.api.model import Campaign
from harness.api.verdict import record
from harness.loopback import source
from harness.operations.openapi import load
from harness.probes.coverage import safe_operations
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SLOT = 144


@pytest.mark.control("API-09")
def test_deleted_resources_are_gone(target, login, evidence, api_campaign: Campaign) -> None:
    # The fuzzing's own stateful checks (use-after-free, resource availability), if any fired.
    fuzzed = api_campaign.for_control("API-09")
    record(evidence, fuzzed)
    loaded = load(target.openapi)
    ops, walk = safe_operations(target.safety, loaded.operations)
    session = login(local_address=source(SLOT, 1))

    def send(method: str, path: str, body: Any) -> tuple[int, Any, str]:
        try:
            response = session.request(method, path, json=body)
        except httpx.HTTPError as exc:
            return 0, None, type(exc).__name__
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return response.status_code, parsed, response.headers.get("location", "")

    report = probe(ops, send)
    evidence.json("create, read, delete, read cycles", report.model_dump(mode="json"))
    problems = [c.problem for c in report.problems] + [f"{p.operation}: {p.title}" for p in fuzzed]
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
    completed = report.completed
    summary = f"{len(completed)} of {len(report.cycles)} resources through a full cycle"
    skipped = [f"{c.resource}: {c.skipped}" for c in report.cycles if c.skipped]
    if walk.held and not completed:
        raise NotEvaluated(
            f"needs safety = intrusive ({len(walk.held)} operations held back: create and "
            "delete are writes)"
        )
    if not completed:
        reason = "; ".join(skipped) or "no collection with create, read and delete documented"
        raise NotEvaluated(f"no create-read-delete cycle completed ({reason})")
    if walk.held:
        raise NotEvaluated(
            f"needs safety = intrusive ({summary}; nothing found on what was checked)"
        )
    evidence.text("verdict", f"{summary}; " + "; ".join(skipped))
