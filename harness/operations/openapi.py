"""An OpenAPI 3 document -> operations of the shared model (``model.py``).

Loading stays behind ``operations(document)`` on purpose: when the fuzzing suite moves to
Schemathesis 4, its schema loader can replace this function without any probe changing.
Until then, local ``$ref``s are inlined and ``allOf`` merged here, with a bounded depth
(documents can be recursive).
"""

from __future__ import annotations

from typing import Any

from harness.operations.model import Operation, Param

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
MAX_DEPTH = 8


def resolve(document: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """``schema`` with local ``$ref``s inlined, ``allOf`` merged and ``anyOf``/``oneOf``
    narrowed to their first non-null option (what an example value needs)."""
    if not isinstance(schema, dict) or not schema or depth > MAX_DEPTH:
        return schema if isinstance(schema, dict) else {}
    if "$ref" in schema:
        return resolve(document, _follow(document, str(schema["$ref"])), depth + 1)
    out = dict(schema)
    if "allOf" in out:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in out.pop("allOf"):
            part = resolve(document, part, depth + 1)
            merged["properties"].update(part.get("properties") or {})
            merged["required"].extend(part.get("required") or [])
            for key, value in part.items():
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


def _follow(document: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer names; ``{}`` for remote or broken references."""
    if not ref.startswith("#/"):
        return {}
    node: Any = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every METHOD + path of the document, schemas resolved."""
    default_security = document.get("security")
    found: list[Operation] = []
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            # Operation-level parameters override path-level ones of the same name and place.
            params: dict[tuple[str, str], Param] = {}
            for raw in [*shared, *(spec.get("parameters") or [])]:
                raw = resolve(document, raw)
                param = Param(
                    name=str(raw.get("name", "")),
                    location=str(raw.get("in", "query")),
                    schema=resolve(document, raw.get("schema") or {}),
                    required=bool(raw.get("required")),
                )
                params[(param.location, param.name)] = param
            body = resolve(document, spec.get("requestBody") or {})
            content = body.get("content") or {}
            media = next((m for m in content if "json" in m), next(iter(content), None))
            schema = (content.get(media) or {}).get("schema") if media else None
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=spec.get("operationId"),
                    tags=list(spec.get("tags") or []),
                    params=list(params.values()),
                    body_schema=resolve(document, schema) if schema is not None else None,
                    body_media_type=media,
                    body_required=bool(body.get("required")),
                    security=spec.get("security", default_security),
                )
            )
    return found
