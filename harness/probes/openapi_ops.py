"""Operations of an OpenAPI 3 document, and schema-valid requests for them.

Authorization probes must send requests that pass validation, or the validation layer answers
(400/422) before the access check is ever reached and a missing check stays invisible. So
request bodies and parameters are generated from the schemas, preferring real values seen in
earlier responses (a ``ValuePool``: ids of objects the user owns, provider ids a list returned)
over invented ones.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"{([^}/]+)}")
_STRING_CANDIDATES = (
    "harness",
    "Harness1",
    "h1",
    "1",
    "a",
    "abc123",
    "harness-probe",
    "harness_probe",
    "h@example.test",
)


class Operation(BaseModel):
    """One METHOD + path of the document, with what a caller needs to build a request."""

    method: str
    path: str
    operation_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    parameters: list[dict[str, Any]] = Field(default_factory=list)
    body_schema: dict[str, Any] | None = None
    body_media_type: str | None = None
    body_required: bool = False
    security: list[dict[str, list[str]]] | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def state_changing(self) -> bool:
        return self.method in STATE_CHANGING

    @property
    def declared_secured(self) -> bool:
        """The document requires credentials (an empty ``{}`` alternative makes them optional)."""
        return bool(self.security) and all(bool(req) for req in self.security or [])

    @property
    def collection(self) -> str:
        """The path up to the last path parameter: where the objects it addresses are listed."""
        if not self.path_params:
            return self.path
        return collection_of(self.path, self.path_params[-1])


def collection_of(path: str, param: str) -> str:
    """``/a/{x}/b/{y}`` and ``y`` -> ``/a/{x}/b``."""
    return path.split("{" + param + "}", 1)[0].rstrip("/")


def operations(doc: dict[str, Any]) -> list[Operation]:
    default_security = doc.get("security")
    found: list[Operation] = []
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = {
                (p.get("in"), p.get("name")): p
                for p in map(lambda x: resolve(x, doc), [*shared, *op.get("parameters", [])])
            }
            body = resolve(op.get("requestBody") or {}, doc)
            content = body.get("content") or {}
            media = next((m for m in content if "json" in m), next(iter(content), None))
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=op.get("operationId"),
                    tags=list(op.get("tags") or []),
                    parameters=list(params.values()),
                    body_schema=(content.get(media) or {}).get("schema") if media else None,
                    body_media_type=media,
                    body_required=bool(body.get("required")),
                    security=op.get("security", default_security),
                )
            )
    return found


def resolve(node: Any, doc: dict[str, Any], depth: int = 0) -> Any:
    """Follow a local ``$ref`` (a few levels; recursive schemas stop there)."""
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            return {}
        target: Any = doc
        for part in ref[2:].split("/"):
            target = (
                target.get(part.replace("~1", "/").replace("~0", "~"), {})
                if isinstance(target, dict)
                else {}
            )
        node = target
        depth += 1
    return node


class ValuePool(BaseModel):
    """Values seen in responses: by field name, and object ids by the collection listing them."""

    by_name: dict[str, list[Any]] = Field(default_factory=dict)
    ids_by_collection: dict[str, list[Any]] = Field(default_factory=dict)

    def add(self, name: str, value: Any) -> None:
        values = self.by_name.setdefault(name, [])
        if (
            value not in values
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        ):
            values.append(value)

    def harvest(self, data: Any, collection: str | None = None, id_field: str = "id") -> None:
        """Remember every scalar field of ``data``; ids of its top objects under ``collection``."""
        top = data if isinstance(data, list) else [data]
        for item in top:
            if isinstance(item, dict) and collection is not None and id_field in item:
                ids = self.ids_by_collection.setdefault(collection, [])
                if item[id_field] not in ids:
                    ids.append(item[id_field])
        self._walk(data, 0)

    def _walk(self, data: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(data, list):
            for item in data[:50]:
                self._walk(item, depth + 1)
        elif isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, dict | list):
                    self._walk(value, depth + 1)
                else:
                    self.add(str(key), value)

    def for_param(self, path: str, param: str) -> list[Any]:
        """Candidate values of a path parameter: ids listed by its collection, then by name."""
        return self.ids_by_collection.get(collection_of(path, param), []) or self.lookup(param)

    def lookup(self, name: str) -> list[Any]:
        """Values for a field: the same name seen before, or ids of the collection it names
        (``track_id`` -> ids of a ``.../tracks`` collection)."""
        if self.by_name.get(name):
            return self.by_name[name]
        stem = re.sub(r"_?id$", "", name, flags=re.IGNORECASE).lower()
        if stem and stem != name.lower():
            for collection, ids in self.ids_by_collection.items():
                last = collection.rstrip("/").rsplit("/", 1)[-1].lower()
                if ids and last in (stem, stem + "s", stem + "es"):
                    return ids
        return []


class RequestSpec(BaseModel):
    """A concrete request for one operation."""

    method: str
    path: str
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = None
    has_body: bool = False
    form: dict[str, Any] | None = None


def fill_path(path: str, values: dict[str, Any]) -> str:
    return _PARAM.sub(lambda m: str(values.get(m.group(1), m.group(0))), path)


def build_request(
    op: Operation,
    doc: dict[str, Any],
    pool: ValuePool | None = None,
    path_values: dict[str, Any] | None = None,
) -> RequestSpec | None:
    """A schema-valid request; None when a path parameter has no value to use."""
    pool = pool or ValuePool()
    values = dict(path_values or {})
    query: dict[str, Any] = {}
    for param in op.parameters:
        name = str(param.get("name"))
        where = param.get("in")
        schema = resolve(param.get("schema") or {}, doc)
        if where == "path" and name not in values:
            candidates = pool.for_param(op.path, name)
            if candidates:
                values[name] = candidates[0]
            else:
                values[name] = example(schema, doc, name, pool)
        elif where == "query" and param.get("required"):
            query[name] = example(schema, doc, name, pool)
    spec = RequestSpec(method=op.method, path=fill_path(op.path, values), params=query)
    if op.body_schema is not None:
        body = example(op.body_schema, doc, None, pool)
        if op.body_media_type and "form" in op.body_media_type and isinstance(body, dict):
            spec.form = body
        else:
            spec.json_body = body
            spec.has_body = True
    return spec


def example(
    schema: Any,
    doc: dict[str, Any],
    name: str | None = None,
    pool: ValuePool | None = None,
    depth: int = 0,
) -> Any:
    """A value that validates against ``schema``; pool values win when their type fits."""
    schema = resolve(schema, doc)
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        return _from_pool(name, pool, schema["enum"]) or schema["enum"][0]
    for key in ("allOf",):
        if key in schema:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in schema[key]:
                part = resolve(part, doc)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
                for extra in (
                    "type",
                    "format",
                    "minimum",
                    "maximum",
                    "minLength",
                    "maxLength",
                    "pattern",
                    "items",
                    "enum",
                ):
                    if extra in part:
                        merged[extra] = part[extra]
            return example(merged, doc, name, pool, depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve(o, doc) for o in schema[key]]
            useful = [o for o in options if o.get("type") != "null"] or options
            return example(useful[0], doc, name, pool, depth + 1) if useful else None
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else ("array" if "items" in schema else None)
    if kind == "object":
        required = set(schema.get("required") or [])
        body = {}
        for prop, sub in (schema.get("properties") or {}).items():
            value = example(sub, doc, prop, pool, depth + 1)
            if value is _UNFIT:
                if prop not in required:
                    continue  # an optional field we cannot fill is better left out
                value = _regex_example(resolve(sub, doc).get("pattern", ""))
            body[prop] = value
        return body
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [example(schema.get("items", {}), doc, name, pool, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, name, pool, kind)
    if kind == "boolean":
        default = schema.get("default")
        return default if isinstance(default, bool) else True
    if kind == "null":
        return None
    if kind == "string" or kind is None:
        return _string(schema, name, pool)
    return None


def _from_pool(
    name: str | None,
    pool: ValuePool | None,
    allowed: list[Any] | None = None,
    kind: type | tuple[type, ...] | None = None,
) -> Any:
    if not name or pool is None:
        return None
    for value in pool.lookup(name):
        if allowed is not None and value not in allowed:
            continue
        if kind is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            continue
        return value
    return None


def _number(schema: dict[str, Any], name: str | None, pool: ValuePool | None, kind: str) -> Any:
    pooled = _from_pool(name, pool, kind=int if kind == "integer" else (int, float))
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if pooled is not None and (low is None or pooled >= low) and (high is None or pooled <= high):
        return pooled
    default = schema.get("default")
    if isinstance(default, int | float) and not isinstance(default, bool):
        return default
    value = 1
    if isinstance(low, int | float) and not isinstance(low, bool):
        value = int(low) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        value = int(high)
    return value if kind == "integer" else float(value)


def _string(schema: dict[str, Any], name: str | None, pool: ValuePool | None) -> str:
    pattern = schema.get("pattern")
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", 10_000))

    def fits(value: str) -> bool:
        if not low <= len(value) <= high:
            return False
        return not pattern or re.search(pattern, value) is not None

    pooled = _from_pool(name, pool, kind=str)
    if isinstance(pooled, str) and fits(pooled):
        return pooled
    default = schema.get("default")
    if isinstance(default, str) and fits(default):
        return default
    for sample in (*schema.get("examples", []), schema.get("example")):
        if isinstance(sample, str) and fits(sample):
            return sample
    fmt = schema.get("format")
    by_format = {
        "email": "harness@example.test",
        "date-time": datetime.now(UTC).isoformat(),
        "date": date.today().isoformat(),
        "uuid": str(uuid.uuid4()),
        "uri": "https://example.test/",
        "url": "https://example.test/",
        "ipv4": "127.0.0.1",
    }
    if fmt in by_format and fits(by_format[fmt]):
        return by_format[fmt]
    # A recognisable, unique value: objects a probe creates can be told apart later.
    unique = f"harness-{secrets.token_hex(3)}"
    for candidate in (unique, unique.replace("-", ""), *_STRING_CANDIDATES):
        padded = candidate + "x" * max(0, low - len(candidate))
        if fits(padded[:high]):
            return padded[:high]
    if pattern:
        generated = _regex_example(pattern)
        if fits(generated):
            return generated
    return _UNFIT


class _Unfit(str):
    """Marker: no value satisfying the schema was found (the caller may omit the field)."""


_UNFIT = _Unfit("harness")


def _regex_example(pattern: str) -> str:
    """A string matching ``pattern`` (hypothesis knows regular expressions; we do not)."""
    if not pattern:
        return "harness"
    try:
        import warnings

        from hypothesis import strategies
        from hypothesis.errors import NonInteractiveExampleWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonInteractiveExampleWarning)
            return str(strategies.from_regex(pattern, fullmatch=True).example())
    except Exception:  # noqa: BLE001 - no hypothesis, or a pattern it cannot handle
        return "harness"
