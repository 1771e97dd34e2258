"""API-04 probe against a small in-process API: a leaked password hash and an undocumented
property are found, the documented view passes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from harness.api.exposure import inspect, probe_exposure, sensitive_name
from harness.operations import RequestSpec, operations
from harness.probes.access import send

_USER = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/users": {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/User"},
                                }
                            }
                        },
                    }
                }
            }
        },
        "/users/{user_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "user_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/User"}}
                        },
                    }
                },
            }
        },
        "/orphans/{orphan_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "orphan_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
    "components": {"schemas": {"User": _USER}},
}


def _client(leak: str | None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        user: dict[str, Any] = {"id": 7, "name": "alice"}
        if leak == "hash":
            user["password_hash"] = "$argon2id$v=19$m=65536$abc"
        elif leak == "row":
            user["internal_notes"] = "vip"
        if request.url.path == "/users":
            return httpx.Response(200, json=[user])
        if request.url.path == "/users/7":
            return httpx.Response(200, json=user)
        return httpx.Response(404, json={"error": "not found"})

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t.test")


def _run(leak: str | None) -> Any:
    client = _client(leak)

    def go(spec: RequestSpec) -> httpx.Response:
        return send(client, spec)

    return probe_exposure(go, operations(DOCUMENT), DOCUMENT)


def test_documented_view_passes_and_reports_its_budget() -> None:
    report = _run(None)
    assert report.exposures == []
    assert report.checked == ["GET /users", "GET /users/{user_id}"]
    assert report.skipped == {"GET /orphans/{orphan_id}": "no id from a listing"}
    assert report.budget_line().startswith("checked 2 of 3 GET operations")


def test_password_hash_is_found_without_copying_its_value() -> None:
    report = _run("hash")
    assert {(e.operation, e.pointer, e.kind) for e in report.exposures} == {
        ("GET /users", "/0/password_hash", "sensitive"),
        ("GET /users/{user_id}", "/password_hash", "sensitive"),
    }
    assert "argon2" not in json.dumps(report.model_dump())


def test_undocumented_property_is_found() -> None:
    report = _run("row")
    assert [(e.pointer, e.kind) for e in report.exposures] == [
        ("/0/internal_notes", "undocumented"),
        ("/internal_notes", "undocumented"),
    ]


def test_names() -> None:
    for name in (
        "password_hash",
        "passwordHash",
        "apiKey",
        "refresh_token",
        "ssn",
        "client_secret",
    ):
        assert sensitive_name(name), name
    harmless = ("csrf_token", "token_type", "expires_in", "content_hash", "next_page_token")
    for name in (*harmless, "password_changed_at", "mfa_enabled", "username", "role"):
        assert not sensitive_name(name), name
    # A flag or a null says whether there is a secret, not what it is.
    assert inspect({"password": None, "has_secret": True, "secret": False}, None) == []
    # An open schema (no properties listed) says nothing about what is undocumented.
    assert inspect({"x": 1}, {"type": "object"}) == []
