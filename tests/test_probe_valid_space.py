"""Unit tests for the valid input space (harness.operations.valid_space, probes.valid_inputs)."""

from __future__ import annotations

import json
from typing import Any

from harness.operations import build_request, operations
from harness.operations.valid_space import alternatives, valid_variants
from harness.probes.bounded import Fetched
from harness.probes.errors import disclosures
from harness.probes.valid_inputs import explore_valid

ORDER = {"type": "string", "enum": ["id", "name", "created"], "default": "id"}
DOC = {
    "openapi": "3.1.0",
    "paths": {
        "/lists": {
            "get": {"parameters": [{"name": "order", "in": "query", "schema": ORDER}]},
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"kind": {"type": "string", "enum": ["a", "b"]}},
                            }
                        }
                    }
                }
            },
        },
    },
}


def test_alternatives_are_valid_values_example_does_not_send() -> None:
    assert alternatives(ORDER) == ["name", "created"]
    assert alternatives({"type": "boolean", "default": False}) == [True]
    assert alternatives({"type": "integer", "minimum": 1, "maximum": 1000}) == [1000]
    assert alternatives({"type": "integer", "minimum": 0, "maximum": 9, "default": 5}) == [0, 9]
    assert alternatives({"type": "string", "enum": list("abcdefgh")}) == ["b", "c", "d"]
    assert alternatives({"type": "string"}) == []
    # A string's length edges: what example() sends is left out, patterns have no sure edge.
    assert alternatives({"type": "string", "minLength": 1, "maxLength": 5}) == ["a", "aaaaa"]
    assert alternatives({"type": "string", "maxLength": 5, "pattern": "^[0-9]+$"}) == []
    assert alternatives({"type": "string", "maxLength": 3, "pattern": "^[^\\x00]*$"}) == ["aaa"]


def test_boundaries_are_the_documented_edges_both_walks_share() -> None:
    from harness.operations.valid_space import boundaries

    assert boundaries({"type": "number", "minimum": 0.5, "maximum": 2}) == [0.5, 2.0]
    assert boundaries({"type": "string", "minLength": 2, "maxLength": 100_000}) == ["aa"]
    assert boundaries({"type": "string", "maxLength": 3, "format": "date"}) == []
    assert boundaries({"type": ["string", "null"], "maxLength": 2}) == ["aa"]


def test_optional_query_parameter_is_sent_and_bodies_only_on_request() -> None:
    get, post = operations(DOC)
    assert build_request(get, {})[2] == {}  # the minimal request leaves `order` out
    assert [v[2] for v in valid_variants(get)] == ["name", "created"]
    assert valid_variants(post, body=False) == []
    assert [v[2] for v in valid_variants(post)] == ["b"]


def _app(method: str, path: str, **kwargs: Any) -> Fetched:
    # The weakness: only the second enum member reaches a broken code path.
    order = (kwargs.get("params") or {}).get("order", "id")
    body: Any
    if order == "name":
        body = {"error": {"details": ["Traceback (most recent call last):\n", "KeyError"]}}
        status = 500
    else:
        body, status = [], 200
    return Fetched(
        method=method,
        url=path,
        status=status,
        headers={"content-type": "application/json"},
        body=json.dumps(body),
    )


def test_the_first_member_passes_another_member_discloses() -> None:
    ops = operations(DOC)
    method, path, kwargs = build_request(ops[0], {})
    assert disclosures(_app(method, path, **kwargs)) == []  # the old single request
    walk = explore_valid(_app, ops, {})
    assert [r.status for r in walk.answers] == [500, 200]  # GET only: the POST is not sent
    assert walk.labels[0] == "GET /lists order='name' (valid)"
    assert {d.rule for d in disclosures(walk.answers[0])} == {"python traceback"}


def test_explore_valid_is_bounded() -> None:
    walk = explore_valid(_app, operations(DOC), {}, budget=1)
    assert len(walk.answers) == 1 and walk.left_out == 1
    assert walk.describe() == "1 schema-valid variants sent; 1 left out for the budget"


def test_validation_sends_other_enum_members_and_flags_their_5xx() -> None:
    from harness.probes.validation import mutations, run

    get = operations(DOC)[0]
    names = [m.name for m in mutations(get)]
    assert "order: valid value 'name'" in names and "order: valid value 'created'" in names
    report = run(_app, [get], {})
    valid = [(o.mutation, o.problem) for o in report.problems if "valid value" in o.mutation]
    assert valid == [("order: valid value 'name'", "server error HTTP 500")]
