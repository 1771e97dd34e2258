"""AUTH-10 reports only what reads back as cross-user.

The small target has the three shapes that made most cross-user reports on a third-party API
false (a lookup public by design, a per-user id that answers with the caller's own object, a
write that changes the caller's own record whatever the path says) and one real violation (a
document update with no owner check while its read is checked).
"""

from __future__ import annotations

from typing import Any

import httpx
from flask import Flask, jsonify, request

from harness.operations import RequestSpec, ValuePool, operations
from harness.probes.access import Sender, send
from harness.probes.access_matrix import cross_access
from harness.probes.access_verify import read_route

BASE = "https://api.test"
USERS = {"sa": "alice", "sb": "bob"}
_ID = {"required": True, "in": "path", "schema": {"type": "integer"}}


def _body(field: str) -> dict[str, Any]:
    schema = {"type": "object", "required": [field], "properties": {field: {"type": "string"}}}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/api/profiles/{name}": {
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {}}],
            "get": {},
        },
        "/api/notes/{note_id}": {"parameters": [{"name": "note_id", **_ID}], "get": {}},
        "/api/users/{user_id}/settings": {
            "parameters": [{"name": "user_id", **_ID}],
            "get": {},
            "put": _body("theme"),
        },
        "/api/docs/{doc_id}": {
            "parameters": [{"name": "doc_id", **_ID}],
            "get": {},
            "patch": _body("title"),
        },
    },
}


def _app(idor_update: bool = True) -> Flask:
    app = Flask("shapes")
    notes = {"alice": {1: "alice's shopping list"}, "bob": {1: "bob's gym plan"}}
    settings = {"alice": {"theme": "dark-alice"}, "bob": {"theme": "light-bob"}}
    docs = {7: {"id": 7, "owner": "alice", "title": "alice's quarterly figures"}}

    def caller() -> str | None:
        return USERS.get(request.cookies.get("sid", ""))

    @app.get("/api/profiles/<name>")
    def profile(name: str) -> Any:  # public by design: anyone, even anonymous
        return jsonify(name=name, bio=f"{name} plays the cello")

    @app.get("/api/notes/<int:note_id>")
    def note(note_id: int) -> Any:  # numbered per user: the caller's own note of that number
        user = caller()
        if user is None:
            return jsonify(error="login"), 401
        if note_id not in notes[user]:
            return jsonify(error="not found"), 404
        return jsonify(id=note_id, text=notes[user][note_id])

    @app.route("/api/users/<int:user_id>/settings", methods=["GET", "PUT"])
    def user_settings(user_id: int) -> Any:  # "/users/{id}/..." but always the caller's own
        user = caller()
        if user is None:
            return jsonify(error="login"), 401
        if request.method == "PUT":
            settings[user].update(request.get_json() or {})
        return jsonify(settings[user])

    @app.route("/api/docs/<int:doc_id>", methods=["GET", "PATCH"])
    def doc(doc_id: int) -> Any:
        user = caller()
        if user is None:
            return jsonify(error="login"), 401
        found = docs.get(doc_id)
        owner_checked = request.method == "GET" or not idor_update
        if found is None or (owner_checked and found["owner"] != user):
            return jsonify(error="not found"), 404
        if request.method == "PATCH":
            found.update(request.get_json() or {})
        return jsonify(found)

    return app


def _sender(client: httpx.Client) -> Sender:
    def go(spec: RequestSpec) -> httpx.Response:
        return send(client, spec)

    return go


def _matrix(idor_update: bool = True):
    transport = httpx.WSGITransport(app=_app(idor_update))

    def client(sid: str | None) -> httpx.Client:
        return httpx.Client(
            base_url=BASE, transport=transport, cookies={"sid": sid} if sid else None
        )

    owned = ValuePool()
    owned.ids_by_collection = {
        "/api/profiles": ["alice"],
        "/api/notes": [1],
        "/api/users": [1],
        "/api/docs": [7],
    }
    theirs = ValuePool()
    theirs.harvest({"id": 1, "text": "bob's gym plan", "theme": "light-bob"})
    with client("sa") as alice, client("sb") as bob, client(None) as anonymous:
        return cross_access(
            "alice",
            "bob",
            _sender(alice),
            _sender(bob),
            operations(DOCUMENT),
            owned,
            theirs,
            send_anonymous=_sender(anonymous),
        )


def test_only_the_real_violation_is_reported() -> None:
    matrix = _matrix()
    cells = {(c.method, c.path): c for c in matrix.cells}
    assert [(c.method, c.path) for c in matrix.violations] == [("PATCH", "/api/docs/7")]
    assert "the owner's object changed" in cells[("PATCH", "/api/docs/7")].reason
    assert cells[("GET", "/api/docs/7")].verdict == "rejected"  # the read is checked
    public = cells[("GET", "/api/profiles/alice")]
    assert public.verdict == "skipped" and "public by design" in public.reason
    own = cells[("GET", "/api/notes/1")]
    assert own.verdict == "skipped" and "caller's own data" in own.reason
    write = cells[("PUT", "/api/users/1/settings")]
    assert write.verdict == "skipped" and "the owner's object is unchanged" in write.reason
    assert {(c.method, c.path) for c in matrix.not_cross_user} == {
        ("GET", "/api/profiles/alice"),
        ("GET", "/api/notes/1"),
        ("GET", "/api/users/1/settings"),
        ("PUT", "/api/users/1/settings"),
    }


def test_a_checked_update_passes() -> None:
    matrix = _matrix(idor_update=False)
    assert matrix.violations == []
    assert {c.verdict for c in matrix.cells if c.path == "/api/docs/7"} == {"rejected"}


def test_read_route_of_a_write() -> None:
    ops = {o.key: o for o in operations(DOCUMENT)}
    put = ops["PUT /api/users/{user_id}/settings"]
    assert read_route(put, ops.values()) is ops["GET /api/users/{user_id}/settings"]
