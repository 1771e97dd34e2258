"""SEC-12 on every state-changing method: a target that checks CSRF on POST/PATCH but lets
DELETE through must be caught, and a DELETE case only removes objects the probe created."""

from __future__ import annotations

from typing import Any

import httpx
from flask import Flask, jsonify, request

from harness.operations import discover_ids, operations
from harness.probes.actor import Actor
from harness.probes.csrf_ops import STATE_CHANGING, fresh_object, judge_operation

OWN = "https://notes.test"
TOKEN = "tok-123456789012345"
_ITEM = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/api/notes": {
            "get": {},
            "post": {"requestBody": {"content": {"application/json": {"schema": _ITEM}}}},
        },
        "/api/notes/{note_id}": {
            "parameters": [
                {"name": "note_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "get": {},
            "patch": {"requestBody": {"content": {"application/json": {"schema": _ITEM}}}},
            "delete": {},
        },
    },
}


def _app(skip_delete: bool) -> tuple[Flask, dict[int, dict[str, Any]]]:
    app = Flask("notes")
    notes: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "the user's own, not the probe's"}}

    def forged() -> bool:
        if skip_delete and request.method == "DELETE":
            return False  # the weakness: "a DELETE has no body to forge"
        own = request.headers.get("Origin") in (None, OWN)
        return not own or request.headers.get("X-CSRF-Token") != TOKEN

    @app.before_request
    def session_and_csrf() -> Any:
        if request.cookies.get("sid") != "s1":
            return jsonify(error="login"), 401
        if request.method in STATE_CHANGING and forged():
            return jsonify(error="csrf"), 403
        return None

    @app.route("/api/notes", methods=["GET", "POST"])
    def listing() -> Any:
        if request.method == "POST":
            note = {"id": max(notes, default=0) + 1, **(request.get_json() or {})}
            notes[note["id"]] = note
            return jsonify(note), 201
        return jsonify(list(notes.values()))

    @app.route("/api/notes/<int:note_id>", methods=["GET", "PATCH", "DELETE"])
    def one(note_id: int) -> Any:
        if note_id not in notes:
            return jsonify(error="not found"), 404
        if request.method == "DELETE":
            del notes[note_id]
            return "", 204
        notes[note_id].update(request.get_json(silent=True) or {})
        return jsonify(notes[note_id])

    return app, notes


class _Session:
    """What the Actor needs of a harness.auth.Session."""

    csrf_token = TOKEN

    def __init__(self, app: Flask) -> None:
        self.client = httpx.Client(
            base_url=OWN, transport=httpx.WSGITransport(app=app), cookies={"sid": "s1"}
        )

    def headers_for_write(self) -> dict[str, str]:
        return {"X-CSRF-Token": TOKEN, "Origin": OWN}

    def apply(self, client: httpx.Client) -> None:
        client.cookies.set("sid", "s1")

    def close(self) -> None:
        self.client.close()


def _judge(skip_delete: bool) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    app, notes = _app(skip_delete)
    actor = Actor(lambda: _Session(app))
    ops = operations(DOCUMENT)
    writes = [o for o in ops if o.method in STATE_CHANGING]
    writes.sort(key=lambda o: o.method == "DELETE")
    ids = discover_ids(actor.send, [o for o in ops if o.method != "DELETE"])
    results = {
        op.key: judge_operation(actor, op, ops, ids, csrf_header="X-CSRF-Token", own_origin=OWN)
        for op in writes
    }
    return results, notes


def test_every_method_is_judged_and_delete_only_removes_created_objects() -> None:
    results, notes = _judge(skip_delete=False)
    assert set(results) == {
        "POST /api/notes",
        "PATCH /api/notes/{note_id}",
        "DELETE /api/notes/{note_id}",
    }
    assert all(r.control_ok and not r.accepted_cases for r in results.values())
    assert 1 in notes  # the object the probe found, but did not create, is still there


def test_csrf_skipped_on_delete_is_caught() -> None:
    results, notes = _judge(skip_delete=True)
    delete = results["DELETE /api/notes/{note_id}"]
    assert delete.control_ok
    names = [name for name, _ in delete.accepted_cases]
    assert "cross-site, no token" in names and "cross-site, wrong token" in names
    assert all(r.accepted_cases == [] for k, r in results.items() if not k.startswith("DELETE"))
    assert 1 in notes


def test_no_creator_means_not_tried() -> None:
    app, _ = _app(skip_delete=True)
    actor = Actor(lambda: _Session(app))
    ops = [o for o in operations(DOCUMENT) if o.method != "POST"]
    delete = next(o for o in ops if o.method == "DELETE")
    ids, why = fresh_object(actor.send, delete, ops, {})
    assert ids is None and "no POST /api/notes" in why
    result = judge_operation(actor, delete, ops, {}, csrf_header="X-CSRF-Token", own_origin=OWN)
    assert not result.control_ok and result.why_not.startswith("not tried")
    assert result.outcomes == []
