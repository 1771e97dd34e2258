"""Valid example values for resolved schemas, and the pool of real values seen in responses.

Two styles, one generator:

* ``minimal`` (the default): required fields only, deterministic strings (``nameprobe``),
  empty arrays where allowed. Injection and validation probes compare every answer with a
  baseline, so the baseline must be repeatable and carry as few invented values as possible.
* ``complete``: every field that can be filled, unique strings, one item per array. Access
  probes create objects they must tell apart later and that should look like real ones.

Pool values (ids of objects a user owns, names a listing returned) win over invented ones in
both styles when their type fits.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from harness.operations.model import collection_of

Style = Literal["minimal", "complete"]
MAX_DEPTH = 8
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


def example(
    schema: Any,
    name: str | None = None,
    pool: ValuePool | None = None,
    style: Style = "minimal",
    depth: int = 0,
) -> Any:
    """A value that validates against a resolved ``schema``."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return _from_pool(name, pool, schema["enum"]) or schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else ("array" if "items" in schema else None)
    if kind == "object":
        return _object(schema, pool, style, depth)
    if kind == "array":
        low = int(schema.get("minItems") or 0)
        count = max(1, low) if style == "complete" else low
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        items = schema.get("items") or {"type": "string"}
        return [example(items, name, pool, style, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, name, pool, kind)
    if kind == "boolean":
        for key in ("example", "default"):
            if isinstance(schema.get(key), bool):
                return schema[key]
        return True
    if kind == "null":
        return None
    value = _string(schema, name, pool, style)
    return "harness" if value is _UNFIT else value


def _object(schema: dict[str, Any], pool: ValuePool | None, style: Style, depth: int) -> Any:
    if style == "minimal" and isinstance(schema.get("example"), dict):
        return schema["example"]
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ([] if style == "complete" else props))
    body: dict[str, Any] = {}
    for prop, sub in props.items():
        if style == "minimal" and prop not in required:
            continue
        value = (
            _string(sub, prop, pool, style)
            if _is_string(sub)
            else example(sub, prop, pool, style, depth + 1)
        )
        if value is _UNFIT:
            if prop not in required:
                continue  # an optional field we cannot fill is better left out
            value = _regex_example(str(sub.get("pattern", "")))
        body[prop] = value
    return body


def _is_string(schema: Any) -> bool:
    return (
        isinstance(schema, dict)
        and schema.get("type") in ("string", None)
        and not schema.get("enum")
        and "const" not in schema
        and "properties" not in schema
        and "items" not in schema
    )


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
    for key in ("example", "default"):
        value = schema.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    value = 1
    if isinstance(low, int | float) and not isinstance(low, bool):
        value = max(int(low), 1) if low <= 1 else int(low)
        if "exclusiveMinimum" in schema and "minimum" not in schema and value <= low:
            value = int(low) + 1
    if isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        value = int(high)
    return value if kind == "integer" else float(value)


def _string(schema: dict[str, Any], name: str | None, pool: ValuePool | None, style: Style) -> str:
    pattern = schema.get("pattern")
    low = int(schema.get("minLength") or 0)
    high = int(schema.get("maxLength") or 10_000)

    def fits(value: str) -> bool:
        if not low <= len(value) <= high:
            return False
        return not pattern or re.search(pattern, value) is not None

    pooled = _from_pool(name, pool, kind=str)
    if isinstance(pooled, str) and fits(pooled):
        return pooled
    for sample in (schema.get("example"), *schema.get("examples", []), schema.get("default")):
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
    if style == "complete":
        # A recognisable, unique value: objects a probe creates can be told apart later.
        unique = f"harness-{secrets.token_hex(3)}"
        first: tuple[str, ...] = (unique, unique.replace("-", ""))
    else:
        first = ((re.sub(r"[^a-z]", "", (name or "").lower()) or "probe") + "probe",)
    for candidate in (*first, *_STRING_CANDIDATES):
        padded = (candidate + "x" * max(0, low - len(candidate)))[:high]
        if fits(padded):
            return padded
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
