"""Partial coverage in safe mode: the walk skips the writes the mode refuses, goes on with the
rest, and a clean partial walk is not_evaluated naming what was checked and held back."""

from __future__ import annotations

from typing import Any

import pytest

from harness.probes.coverage import safe_operations, safe_surface
from harness.safety import NEEDS_INTRUSIVE, NeedsIntrusive, SafetyPolicy, _rules
from harness.verdicts import NotEvaluated

DOC: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/items": {"get": {}, "post": {}, "parameters": []},
        "/items/{id}": {"get": {}, "put": {}, "delete": {}},
        "/search": {"post": {}},
    },
}


def test_safe_mode_removes_refused_writes_and_counts_them() -> None:
    policy = SafetyPolicy(mode="safe", allow_writes=_rules(["POST /search"], "scope.allow_writes"))
    walk = safe_surface(policy, DOC)
    assert walk.document["paths"]["/items"] == {"get": {}, "parameters": []}
    assert walk.document["paths"]["/items/{id}"] == {"get": {}}
    assert walk.document["paths"]["/search"] == {"post": {}}
    assert walk.total == 6 and walk.allowed == 3
    assert list(walk.held) == ["POST /items", "PUT /items/{id}", "DELETE /items/{id}"]
    assert set(policy.refused) == {"POST /items", "PUT /items/{id}", "DELETE /items/{id}"}
    assert walk.describe() == (
        "checked 3 of 6 operations; 3 need safety = intrusive "
        "(POST /items, PUT /items/{id}, DELETE /items/{id})"
    )
    assert DOC["paths"]["/items"]["post"] == {}, "the target's document is left alone"


def test_a_clean_partial_walk_is_not_evaluated_never_a_pass() -> None:
    walk = safe_surface(SafetyPolicy(mode="safe"), DOC)
    with pytest.raises(NotEvaluated) as caught:
        walk.conclude(checked=2)
    assert isinstance(caught.value, NeedsIntrusive)
    reason = caught.value.reason
    assert reason.startswith(NEEDS_INTRUSIVE)
    assert "checked 2 of 6 operations; 4 need safety = intrusive" in reason


def test_intrusive_mode_and_excluded_operations_hold_nothing_back() -> None:
    walk = safe_surface(SafetyPolicy(mode="intrusive"), DOC)
    assert walk.document == DOC and walk.held == {}
    walk.conclude()  # nothing held back: the control's own verdict stands
    # scope.exclude is out of the target's scope, not coverage the mode held back.
    excluded = SafetyPolicy(mode="safe", exclude=_rules(["/items/*"], "scope.exclude"))
    assert excluded.hold("DELETE", "http://x/items/1") is None


def test_walks_fed_by_the_operation_model_hold_back_the_same_writes() -> None:
    from harness.operations import operations

    policy = SafetyPolicy(mode="safe", allow_writes=_rules(["POST /search"], "scope.allow_writes"))
    kept, walk = safe_operations(policy, operations(DOC))
    assert sorted(f"{op.method} {op.path}" for op in kept) == [
        "GET /items",
        "GET /items/{id}",
        "POST /search",
    ]
    assert walk.total == 6 and list(walk.held) == [
        "POST /items",
        "PUT /items/{id}",
        "DELETE /items/{id}",
    ]
    with pytest.raises(NeedsIntrusive):
        walk.conclude(checked=3)
    everything, open_walk = safe_operations(SafetyPolicy(mode="intrusive"), operations(DOC))
    assert len(everything) == 6 and open_walk.held == {}


def test_a_target_without_a_document_gives_an_empty_one_and_the_reason() -> None:
    from harness.profile import Profile
    from harness.target import Target

    profile = Profile.model_validate(
        {
            "provider": "external",
            "target": {"base_url": "http://127.0.0.1:9", "openapi_path": False},
        }
    )
    document, why = Target(profile).openapi_or_empty()
    assert document == {"paths": {}}
    assert why is not None and "openapi_path = false" in why
