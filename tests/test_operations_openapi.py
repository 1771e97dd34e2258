"""The operation model from OpenAPI documents, and schema-valid request generation."""

from __future__ import annotations

import re
from typing import Any

from harness.operations import (
    ValuePool,
    collection_of,
    example,
    load,
    operations,
    request_for,
    resolve,
)

DOC: dict[str, Any] = {
    "openapi": "3.1.0",
    "security": [{"cookie": []}],
    "paths": {
        "/health": {"get": {"security": []}},
        "/items": {
            "get": {},
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ItemIn"}}
                    },
                }
            },
        },
        "/items/{item_id}": {
            "parameters": [
                {
                    "name": "item_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "get": {"security": [{}, {"cookie": []}]},
            "delete": {},
        },
        "/orders": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["item_id"],
                                "properties": {"item_id": {"type": "integer"}},
                            }
                        }
                    }
                }
            }
        },
        "/search": {
            "get": {
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 3},
                    }
                ]
            }
        },
    },
    "components": {
        "schemas": {
            "ItemIn": {
                "type": "object",
                "required": ["name", "kind"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 10},
                    "code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]$"},
                    "kind": {"enum": ["a", "b"]},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                    "when": {"type": "string", "format": "date-time"},
                    "count": {"type": "integer", "minimum": 5, "maximum": 9},
                    "flag": {"type": "boolean", "default": False},
                },
            }
        }
    },
}


def test_operations_and_security() -> None:
    ops = {op.key: op for op in operations(DOC)}
    assert not ops["GET /health"].declared_secured
    assert ops["GET /items"].declared_secured  # document-level default
    assert not ops["GET /items/{item_id}"].declared_secured  # {} makes it optional
    assert ops["DELETE /items/{item_id}"].path_param_names == ["item_id"]
    assert ops["DELETE /items/{item_id}"].collection == "/items"
    assert ops["POST /items"].state_changing and ops["POST /items"].body_required


def test_generated_body_validates() -> None:
    body = example(resolve(DOC, DOC["components"]["schemas"]["ItemIn"]), style="complete")
    assert 1 <= len(body["name"]) <= 10
    assert re.search("^[A-Z]{2}[0-9]$", body["code"])
    assert body["kind"] == "a" and isinstance(body["note"], str)
    assert len(body["tags"]) == 1 and 5 <= body["count"] <= 9 and body["flag"] is False
    assert "T" in body["when"]


def test_optional_field_that_cannot_be_filled_is_omitted() -> None:
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "string", "minLength": 5, "maxLength": 2},
        },
    }
    assert list(example(schema, style="complete")) == ["a"]


def test_pool_values_fill_ids_and_fields() -> None:
    pool = ValuePool()
    pool.harvest([{"id": 7, "name": "mine"}], "/items")
    ops = {op.key: op for op in operations(DOC)}
    spec = request_for(ops["DELETE /items/{item_id}"], pool=pool, style="complete")
    assert spec is not None and spec.path == "/items/7"
    order = request_for(ops["POST /orders"], pool=pool, style="complete")
    assert order is not None and order.json_body == {"item_id": 7}  # item_id -> /items ids
    search = request_for(ops["GET /search"], pool=pool)
    assert search is not None and len(search.params["q"]) >= 3


def test_collection_of() -> None:
    assert collection_of("/a/{x}/b/{y}", "y") == "/a/{x}/b"
    assert collection_of("/a/{x}/b/{y}", "x") == "/a"


# -- the loader (Schemathesis's): what the hand-written parser did not do -----------------------

SECURED: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "child": {"$ref": "#/components/schemas/Node"},
                },
            }
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/nodes": {
            "post": {
                "parameters": [{"name": "X-Trace", "in": "header", "schema": {"type": "string"}}],
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/broken": {
            "get": {
                "parameters": [{"$ref": "#/components/parameters/Missing"}],
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
}


def test_security_parameters_are_credentials_not_inputs() -> None:
    (op,) = [o for o in load(SECURED).operations if o.path == "/nodes"]
    assert [(p.location, p.name) for p in op.params] == [("header", "X-Trace")]
    assert op.security == [{"bearer": []}]


def test_recursive_schema_is_bounded_and_usable() -> None:
    (op,) = [o for o in load(SECURED).operations if o.path == "/nodes"]
    assert op.body_schema is not None and "x-bundled" not in op.body_schema
    assert op.body_schema["properties"]["child"]["type"] == "object"
    assert isinstance(example(op.body_schema, style="complete"), dict)


def test_unloadable_operation_is_named_not_dropped_in_silence() -> None:
    loaded = load(SECURED)
    assert "GET /broken" in loaded.unloadable
    assert "could not be loaded (GET /broken)" in loaded.summary()
    assert load({"openapi": "3.0.0", "paths": [1]}).unloadable == {
        "document": "the document has no `paths` object"
    }


def test_swagger_2_body_and_form_parameters() -> None:
    document = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "consumes": ["application/json"],
        "paths": {
            "/post": {
                "post": {
                    "parameters": [
                        {"name": "page", "in": "query", "type": "integer", "maximum": 9},
                        {"name": "body", "in": "body", "schema": {"type": "object"}},
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    (op,) = load(document).operations
    assert [(p.location, p.name, p.schema_) for p in op.params] == [
        ("query", "page", {"type": "integer", "maximum": 9})
    ]
    assert op.body_media_type == "application/json" and op.body_schema == {"type": "object"}


def test_document_without_version_line_is_read_as_openapi_3() -> None:
    assert [o.key for o in load({"paths": {"/a": {"get": {}}}}).operations] == ["GET /a"]
