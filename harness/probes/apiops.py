"""Operations of a target's OpenAPI document, with just enough schema handling to build
valid example inputs (the baseline every injection/validation probe compares against).

Routes always come from the target's own document, never from knowledge of the reference app.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


class Param(BaseModel):
    name: str
    location: str  # query, path, header, cookie, body
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    required: bool = False

    model_config = {"populate_by_name": True}


class Operation(BaseModel):
    method: str
    path: str
    operation_id: str | None = None
    params: list[Param] = Field(default_factory=list)
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    secured: bool = False
    tags: list[str] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[Param]:
        return [p for p in self.params if p.location == "path"]

    @property
    def query_params(self) -> list[Param]:
        return [p for p in self.params if p.location == "query"]

    def body_fields(self) -> dict[str, dict[str, Any]]:
        if not self.body_schema:
            return {}
        return dict(self.body_schema.get("properties") or {})


def resolve(
    document: dict[str, Any], schema: dict[str, Any] | None, depth: int = 0
) -> dict[str, Any]:
    """Inline local $refs and merge allOf (bounded depth: documents can be recursive)."""
    if not schema or depth > 8:
        return schema or {}
    if "$ref" in schema:
        ref = str(schema["$ref"])
        node: Any = document
        for part in ref.lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return resolve(document, node, depth + 1)
    out = dict(schema)
    if "allOf" in out:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for sub in out.pop("allOf"):
            sub = resolve(document, sub, depth + 1)
            merged["properties"].update(sub.get("properties") or {})
            merged["required"].extend(sub.get("required") or [])
            for key, value in sub.items():
                if key not in ("properties", "required"):
                    merged.setdefault(key, value)
        out = {**merged, **out}
    for combiner in ("anyOf", "oneOf"):
        if combiner in out:
            options = [resolve(document, s, depth + 1) for s in out[combiner]]
            concrete = [o for o in options if o.get("type") != "null"] or options
            base = {k: v for k, v in out.items() if k != combiner}
            out = {**concrete[0], **base} if concrete else base
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            k: resolve(document, v, depth + 1) for k, v in out["properties"].items()
        }
    if isinstance(out.get("items"), dict):
        out["items"] = resolve(document, out["items"], depth + 1)
    return out


def operations(document: dict[str, Any]) -> list[Operation]:
    ops: list[Operation] = []
    global_security = document.get("security")
    for path, item in (document.get("paths") or {}).items():
        shared = item.get("parameters") or []
        for method in METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            params = []
            for raw in [*shared, *(spec.get("parameters") or [])]:
                raw = resolve(document, raw)
                params.append(
                    Param(
                        name=raw.get("name", ""),
                        location=raw.get("in", "query"),
                        schema=resolve(document, raw.get("schema") or {}),
                        required=bool(raw.get("required")),
                    )
                )
            body_schema = None
            body_required = False
            body = resolve(document, spec.get("requestBody"))
            if body:
                content = body.get("content") or {}
                media: dict[str, Any] = content.get("application/json") or next(
                    iter(content.values()), {}
                )
                body_schema = resolve(document, media.get("schema") or {})
                body_required = bool(body.get("required"))
            security = spec.get("security", global_security)
            ops.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=spec.get("operationId"),
                    params=params,
                    body_schema=body_schema,
                    body_required=body_required,
                    secured=bool(security),
                    tags=list(spec.get("tags") or []),
                )
            )
    return ops


def example(schema: dict[str, Any], name: str = "") -> Any:
    """A valid, harmless value for a schema (first enum, minimums, short strings)."""
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or props.keys())
        return {k: example(v, k) for k, v in props.items() if k in required}
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        return [example(schema.get("items") or {"type": "string"}) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1) or 1)
    if kind == "number":
        return float(schema.get("minimum", 1) or 1)
    if kind == "boolean":
        return True
    low = int(schema.get("minLength") or 1)
    fmt = schema.get("format")
    if fmt == "email":
        return "probe@example.test"
    if fmt in ("uri", "url"):
        return "https://example.test/x"
    if fmt == "date-time":
        return "2024-01-01T00:00:00Z"
    base = re.sub(r"[^a-z]", "", name.lower()) or "probe"
    value = f"{base}probe"
    if len(value) < low:
        value = value + "x" * (low - len(value))
    max_len = schema.get("maxLength")
    return value[: int(max_len)] if max_len else value


def fill_path(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(values.get(m.group(1), "1")), path)


class Point(BaseModel):
    """One input of one operation a probe can put a payload into."""

    op: Operation
    location: str  # query, path, body
    name: str
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")

    model_config = {"populate_by_name": True}

    @property
    def label(self) -> str:
        return f"{self.op.key} {self.location}:{self.name}"


def points(ops: list[Operation], *, include_path: bool = True) -> list[Point]:
    out: list[Point] = []
    for op in ops:
        for param in op.params:
            if param.location == "query" or (param.location == "path" and include_path):
                out.append(
                    Point(op=op, location=param.location, name=param.name, schema=param.schema_)
                )
        for name, schema in op.body_fields().items():
            out.append(Point(op=op, location="body", name=name, schema=schema))
    return out


def build_request(
    op: Operation, ids: dict[str, Any], override: tuple[str, str, Any] | None = None
) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx kwargs) with example values, one input replaced by ``override``."""
    path_values: dict[str, Any] = {}
    for param in op.path_params:
        path_values[param.name] = ids.get(f"{op.path}:{param.name}", ids.get(param.name, 1))
    query: dict[str, Any] = {}
    for param in op.query_params:
        if param.required:
            query[param.name] = example(param.schema_, param.name)
    body: Any = example(op.body_schema, "") if op.body_schema else None
    if override is not None:
        location, name, value = override
        if location == "path":
            path_values[name] = value
        elif location == "query":
            query[name] = value
        elif location == "body":
            body = dict(body) if isinstance(body, dict) else {}
            body[name] = value
    path = re.sub(r"\{([^}]+)\}", lambda m: _path_segment(path_values.get(m.group(1), 1)), op.path)
    kwargs: dict[str, Any] = {}
    if query:
        kwargs["params"] = query
    if body is not None:
        kwargs["json"] = body
    return op.method, path, kwargs


def _path_segment(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def collection_for(op: Operation, ops: list[Operation]) -> Operation | None:
    """The GET listing whose items a templated path addresses (``/x/{id}`` -> ``GET /x``)."""
    prefix = op.path.split("/{", 1)[0]
    for other in ops:
        if other.method == "GET" and other.path == prefix and not other.path_params:
            return other
    return None


def first_id(payload: Any) -> Any:
    """The ``id`` of the first item of a listing (a list, or the first list in an object)."""
    items: Any = payload
    if isinstance(payload, dict):
        items = next((v for v in payload.values() if isinstance(v, list)), None)
        if items is None and "id" in payload:
            return payload["id"]
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0].get("id")
    return None


def discover_ids(send: Any, ops: list[Operation], *, create: bool = True) -> dict[str, Any]:
    """Real ids for templated paths: read each listing, create one item when it is empty.

    ``send(method, path, **kwargs)`` returns a harness.probes.bounded.Fetched. Creating goes
    through the listing's own POST with an example body, so it stays generic.
    """
    import json as _json

    ids: dict[str, Any] = {}
    for op in ops:
        if not op.path_params:
            continue
        listing = collection_for(op, ops)
        if listing is None:
            continue
        found = None
        response = send("GET", listing.path)
        if response.status == 200:
            try:
                found = first_id(_json.loads(response.body))
            except ValueError:
                found = None
        if found is None and create:
            creator = next(
                (o for o in ops if o.method == "POST" and o.path == listing.path and o.body_schema),
                None,
            )
            if creator is not None:
                method, path, kwargs = build_request(creator, ids)
                created = send(method, path, **kwargs)
                if created.status in (200, 201):
                    try:
                        found = first_id(_json.loads(created.body))
                    except ValueError:
                        found = None
        if found is not None:
            ids[f"{op.path}:{op.path_params[-1].name}"] = found
            ids.setdefault(op.path_params[-1].name, found)
    return ids


def api_prefix(ops: list[Operation]) -> str:
    """The folder every operation path shares (``/api/v1``), for inventing unknown API routes."""
    paths = [o.path for o in ops]
    if not paths:
        return ""
    prefix = paths[0]
    for path in paths[1:]:
        while not path.startswith(prefix):
            prefix = prefix[:-1]
    return prefix.rsplit("/", 1)[0] if "/" in prefix else ""
