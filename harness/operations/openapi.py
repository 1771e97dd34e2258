"""An OpenAPI document -> operations of the shared model (``model.py``), through Schemathesis's
schema loader: the fuzzing suite and every probe read the same operations, with the same
reference resolution, Swagger 2 and OpenAPI 3 alike.

Schemathesis resolves ``$ref``s (recursive schemas come back bundled under ``x-bundled``);
``resolve`` then merges ``allOf`` and narrows ``anyOf``/``oneOf`` to one option, which is what an
example value needs. An operation the loader rejects (a broken reference, say) is not dropped
in silence: ``load`` names it with the loader's reason, so a verdict can say what it skipped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from harness.operations.model import Operation, Param

MAX_DEPTH = 8
# Schemathesis keeps OpenAPI's parameter locations; Swagger 2's form fields are body schemas.
_LOCATIONS = {"path", "query", "header", "cookie"}
_SECURITY_MARK = "x-original-security-type"


class Loaded(BaseModel):
    """What the loader made of a document: its operations and those it could not load."""

    operations: list[Operation] = Field(default_factory=list)
    # "METHOD path" (or "document") -> the loader's reason.
    unloadable: dict[str, str] = Field(default_factory=dict)

    def summary(self) -> str:
        text = f"{len(self.operations)} operations from the target's OpenAPI document"
        if self.unloadable:
            names = ", ".join(sorted(self.unloadable)[:5])
            more = "" if len(self.unloadable) <= 5 else f" and {len(self.unloadable) - 5} more"
            text += f"; {len(self.unloadable)} could not be loaded ({names}{more})"
        return text


def resolve(root: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """``schema`` with the local ``$ref``s of ``root`` inlined, ``allOf`` merged and
    ``anyOf``/``oneOf`` narrowed to their first non-null option, to a bounded depth (schemas
    can be recursive). ``root`` is the document, or a schema carrying its ``x-bundled`` part."""
    if not isinstance(schema, dict) or not schema or depth > MAX_DEPTH:
        return schema if isinstance(schema, dict) else {}
    if "$ref" in schema:
        return resolve(root, _follow(root, str(schema["$ref"])), depth + 1)
    out = {k: v for k, v in schema.items() if k != "x-bundled"}
    if "allOf" in out:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in out.pop("allOf"):
            part = resolve(root, part, depth + 1)
            merged["properties"].update(part.get("properties") or {})
            merged["required"].extend(part.get("required") or [])
            for key, value in part.items():
                if key not in ("properties", "required"):
                    merged.setdefault(key, value)
        out = {**merged, **out}
    for combiner in ("anyOf", "oneOf"):
        if combiner in out:
            options = [resolve(root, s, depth + 1) for s in out[combiner]]
            concrete = [o for o in options if o.get("type") != "null"] or options
            base = {k: v for k, v in out.items() if k != combiner}
            out = {**concrete[0], **base} if concrete else base
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: resolve(root, v, depth + 1) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = resolve(root, out["items"], depth + 1)
    return out


def _follow(root: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer names; ``{}`` for remote or broken references."""
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node.get(key, {}) if isinstance(node, dict) else {}
    return node


def _schema(definition: dict[str, Any]) -> dict[str, Any]:
    """A parameter's or body's schema, resolved against its own bundle."""
    schema = definition.get("schema")
    if not isinstance(schema, dict):
        # Swagger 2 puts a non-body parameter's schema keywords on the parameter itself.
        keys = ("type", "format", "enum", "items", "minimum", "maximum", "maxLength", "pattern")
        return {k: definition[k] for k in keys if k in definition}
    return resolve(schema, schema)


def _operation(document: dict[str, Any], api_op: Any) -> Operation:
    raw: dict[str, Any] = dict(api_op.definition.raw)
    params: list[Param] = []
    for parameter in api_op.iter_parameters():
        location = str(getattr(parameter.location, "value", parameter.location))
        # The loader adds parameters synthesised from the security schemes (a session cookie,
        # an Authorization header): credentials, which the auth adapter supplies, not inputs.
        if location not in _LOCATIONS or _SECURITY_MARK in parameter.definition:
            continue
        params.append(
            Param(
                name=parameter.name,
                location=location,
                schema=_schema(parameter.definition),
                required=bool(parameter.is_required),
            )
        )
    bodies = list(api_op.body)
    chosen = next((b for b in bodies if "json" in b.media_type), bodies[0] if bodies else None)
    return Operation(
        method=api_op.method.upper(),
        path=api_op.path,
        operation_id=raw.get("operationId"),
        tags=list(raw.get("tags") or []),
        params=params,
        body_schema=_schema(chosen.definition) if chosen is not None else None,
        body_media_type=chosen.media_type if chosen is not None else None,
        body_required=bool(chosen.is_required) if chosen is not None else False,
        security=raw.get("security", document.get("security")),
    )


def _reason(exc: BaseException) -> str:
    """One line for a verdict: the loader's first line of explanation, or the error's kind."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else f"{type(exc).__name__}"


def load(document: dict[str, Any]) -> Loaded:
    """Every METHOD + path of the document, schemas resolved, and what could not be loaded."""
    loaded = Loaded()
    if not isinstance(document.get("paths"), dict):
        loaded.unloadable["document"] = "the document has no `paths` object"
        return loaded
    if "openapi" not in document and "swagger" not in document:
        # Served documents are often sloppy about the version line; the paths are what counts.
        document = {"openapi": "3.0.3", **document}
    # Imported here: the loader pulls in Hypothesis (about a second), which a run of controls
    # that never read an OpenAPI document (most efficacy fault runs) should not pay for.
    from schemathesis import openapi as schemathesis_openapi
    from schemathesis.core.result import Err

    try:
        schema = schemathesis_openapi.from_dict(document)
        results = list(schema.get_all_operations())
    except Exception as exc:  # the loader's own errors: the document is unusable as a whole
        loaded.unloadable["document"] = _reason(exc)
        return loaded
    for result in results:
        if isinstance(result, Err):
            error = result.err()
            method = str(getattr(error, "method", "") or "?").upper()
            key = f"{method} {getattr(error, 'path', None) or '?'}"
            loaded.unloadable[key] = _reason(error)
            continue
        loaded.operations.append(_operation(document, result.ok()))
    return loaded


def operations(document: dict[str, Any]) -> list[Operation]:
    """Every loadable METHOD + path of the document (``load`` also says what was skipped)."""
    return load(document).operations
