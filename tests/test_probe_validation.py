"""Unit tests for harness.probes.validation against a fake API."""

from __future__ import annotations

import json
from typing import Any

from harness.operations import operations
from harness.probes.bounded import Fetched
from harness.probes.validation import mutations, run

DOC = {
    "openapi": "3.1.0",
    "paths": {
        "/items": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
                    },
                }
            }
        },
        "/items/{item_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "maximum": 2147483647},
                    }
                ]
            }
        },
    },
    "components": {
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},  # the forgotten maxLength
                    "kind": {"type": "string", "enum": ["a", "b"]},
                },
            }
        }
    },
}


def _answer(status: int, body: Any = None, kind: str = "application/json") -> Fetched:
    return Fetched(
        method="X",
        url="/",
        status=status,
        headers={"content-type": kind},
        body=json.dumps(body if body is not None else {"error": {"code": "bad"}}),
    )


def careful(method: str, path: str, **kwargs: Any) -> Fetched:
    if path.startswith("/items/"):
        item = path.rsplit("/", 1)[1]
        return _answer(200, {"id": 1}) if item.isdigit() and int(item) < 2**31 else _answer(422)
    body = kwargs.get("json")
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("name"), str)
        or len(body["name"]) > 200
        or body.get("kind", "a") not in ("a", "b")
    ):
        return _answer(422)
    return _answer(201, {"id": 1})


def database_overflow(method: str, path: str, **kwargs: Any) -> Fetched:
    body = kwargs.get("json")
    if isinstance(body, dict) and isinstance(body.get("name"), str) and len(body["name"]) > 200:
        return _answer(500, {"error": {"code": "internal_error"}})
    return careful(method, path, **kwargs)


def html_errors(method: str, path: str, **kwargs: Any) -> Fetched:
    answer = careful(method, path, **kwargs)
    return _answer(422, "<h1>bad</h1>", kind="text/html") if answer.status == 422 else answer


def test_mutations_include_types_lengths_ranges_enums_and_raw_bodies():
    names = " | ".join(m.name for op in operations(DOC) for m in mutations(op))
    for expected in (
        "malformed JSON",
        "body is a JSON array",
        "oversized body",
        "missing",
        "name: wrong type",
        "name: over-long string",
        "kind: value outside the enum",
        "item_id: out of range",
        "item_id: wrong type",
    ):
        assert expected in names


def test_careful_api_passes():
    report = run(careful, operations(DOC), {})
    assert report.outcomes and report.problems == []


def test_forgotten_length_limit_that_reaches_the_database_fails():
    problems = run(database_overflow, operations(DOC), {}).problems
    assert [p.problem for p in problems] == ["server error HTTP 500"]


def test_unstructured_4xx_is_a_problem():
    problems = run(html_errors, operations(DOC), {}).problems
    assert problems and all("without a structured error" in p.problem for p in problems)


def test_non_ascii_csrf_header_is_sent_to_write_operations():
    sent: list[dict[str, Any]] = []

    def crashing_on_header(method: str, path: str, **kwargs: Any) -> Fetched:
        sent.append(kwargs)
        if isinstance((kwargs.get("headers") or {}).get("X-CSRF-Token"), bytes):
            return _answer(500)
        return careful(method, path, **kwargs)

    problems = run(crashing_on_header, operations(DOC), {}, csrf_header="X-CSRF-Token").problems
    assert [(p.op, p.mutation) for p in problems] == [
        ("POST /items", "X-CSRF-Token: non-ASCII bytes")
    ]
