"""Partial coverage in safe mode: the walk skips the writes the mode refuses, goes on with the
rest, and a clean partial walk is not_evaluated naming what was checked and held back."""

from __future__ import annotations

from typing import Any

import pytest

from harness.probes.coverage import safe_surface
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
