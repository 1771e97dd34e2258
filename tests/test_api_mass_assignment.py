"""API-03 probe against a small in-process API: an update that binds `role` onto the account
is caught and undone; one that refuses unknown properties passes; a read-only property that
takes effect on create is caught."""

from __future__ import annotations

import json
from typing import Any

import httpx

from harness.api.mass_assignment import MassAssignmentProbe, candidates
from harness.operations import RequestSpec, operations
from harness.probes.access import send

_PROFILE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"bio": {"type": "string"}},
}
_ITEM = {
    "type": "object",
    "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}},
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/me": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/profile": {
            "get": {"responses": {"200": {"description": "ok"}}},
            "put": {"requestBody": _json(_PROFILE), "responses": {"200": {"description": "ok"}}},
        },
        "/items": {
            "get": {"responses": {"200": {"description": "ok"}}},
            "post": {"requestBody": _json(_ITEM), "responses": {"201": {"description": "ok"}}},
        },
        "/items/{item_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "item_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
}


def _app(binds_role: bool, takes_id: bool) -> tuple[httpx.Client, dict[str, Any]]:
    state: dict[str, Any] = {"role": "user", "bio": "", "items": {}, "next": 1, "writes": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body = json.loads(request.content) if request.content else {}
        if path == "/me":
            return httpx.Response(200, json={"user": {"name": "alice", "role": state["role"]}})
        if path == "/profile" and method == "GET":
            return httpx.Response(200, json={"bio": state["bio"]})
        if path == "/profile":
            state["writes"] += 1
            if set(body) - {"bio"} and not binds_role:
                return httpx.Response(422, json={"error": "unknown property"})
            state["bio"] = body.get("bio", "")
            state["role"] = body.get("role", state["role"])
            return httpx.Response(200, json={"bio": state["bio"]})
        if path == "/items" and method == "GET":
            return httpx.Response(200, json=list(state["items"].values()))
        if path == "/items":
            item_id = body["id"] if takes_id and "id" in body else state["next"]
            state["next"] += 1
            state["items"][item_id] = {"id": item_id, "name": body.get("name", "")}
            return httpx.Response(201, json=state["items"][item_id])
        if path.startswith("/items/"):
            item = state["items"].get(int(path.rsplit("/", 1)[1]))
            return httpx.Response(200, json=item) if item else httpx.Response(404)
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t.test")
    return client, state


def _run(binds_role: bool = False, takes_id: bool = False) -> tuple[Any, dict[str, Any]]:
    client, state = _app(binds_role, takes_id)

    def go(spec: RequestSpec) -> httpx.Response:
        return send(client, spec)

    return MassAssignmentProbe(go, operations(DOCUMENT), "/me").run(budget_s=30), state


def test_candidates_read_only_first_then_privileged_names() -> None:
    post = next(op for op in operations(DOCUMENT) if op.key == "POST /items")
    names = [(name, why) for name, why, _ in candidates(post)]
    assert names[0] == ("id", "read-only") and ("role", "privileged") in names


def test_refused_properties_pass() -> None:
    report, _ = _run()
    assert report.exercised == ["PUT /profile", "POST /items"]
    assert report.effective == []
    assert {t.outcome for t in report.trials if t.operation == "PUT /profile"} == {"refused"}


def test_role_bound_onto_the_account_is_caught_and_undone() -> None:
    report, state = _run(binds_role=True)
    (trial,) = report.effective
    assert (trial.operation, trial.prop, trial.sent) == ("PUT /profile", "role", "admin")
    assert trial.where == "GET /me /user/role" and trial.restored is True
    assert state["role"] == "user"


def test_read_only_id_taken_at_create_is_caught() -> None:
    report, _ = _run(takes_id=True)
    assert [(t.operation, t.prop, t.why) for t in report.effective] == [
        ("POST /items", "id", "read-only")
    ]
    assert report.effective[0].where.startswith("GET /items/")
