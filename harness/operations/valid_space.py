"""Schema-valid values other than the one ``example`` picks: the rest of the valid input space.

``example`` is deterministic on purpose (probes compare with a baseline), so it always sends the
first enum member, the default boolean and an in-range middle number, and leaves optional
query parameters out. An error reachable only with another enum member, a boundary or an
optional parameter present is then never triggered. These helpers list a bounded set of such
values per input; every one of them validates against the schema.
"""

from __future__ import annotations

import re
from typing import Any

from harness.operations.model import Operation
from harness.operations.values import example

PER_INPUT = 3  # alternatives per input: enough for "another member", bounded for big enums


MAX_EDGE_LENGTH = 4096  # a longer documented maxLength is a limit no one reaches by accident


def _kind(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def boundaries(schema: dict[str, Any]) -> list[Any]:
    """The documented edges of a number or a free-text string: ``minimum``/``maximum``, and a
    string of exactly ``minLength``/``maxLength`` characters. Off-by-one and overflow bugs live
    there and random generation reaches them only by luck. Every value is valid: a run of one
    letter, kept only where the schema's pattern matches it (a format or an enum has no such
    edge).

    The one model of edge values: the SEC-04/SEC-07 valid-space walks and the API campaign's
    boundary cases both draw from it.
    """
    if not isinstance(schema, dict):
        return []
    kind = _kind(schema)
    out: list[Any] = []
    if kind in ("integer", "number"):
        for key in ("minimum", "maximum"):
            bound = schema.get(key)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                out.append(int(bound) if kind == "integer" else float(bound))
    elif kind == "string" and not {"enum", "format"} & schema.keys():
        for key in ("minLength", "maxLength"):
            length = schema.get(key)
            if type(length) is not int or not 0 < length <= MAX_EDGE_LENGTH:  # bool is no length
                continue
            if _matches(schema.get("pattern"), "a" * length):
                out.append("a" * length)
    return out


def _matches(pattern: Any, value: str) -> bool:
    """``value`` meets the schema's ``pattern`` (none: it does; one Python cannot read: unsure,
    so no)."""
    if pattern is None:
        return True
    try:
        return isinstance(pattern, str) and re.search(pattern, value) is not None
    except re.error:
        return False


def alternatives(schema: dict[str, Any], limit: int = PER_INPUT) -> list[Any]:
    """Valid values of ``schema`` that ``example`` would not send (bounded by ``limit``)."""
    if not isinstance(schema, dict):
        return []
    enum = schema.get("enum")
    if enum:
        first = example(schema)
        return [v for v in enum if v != first][:limit]
    kind = _kind(schema)
    out: list[Any] = []
    if kind == "boolean":
        out = [not example(schema)]
    elif kind in ("integer", "number", "string"):
        usual = example(schema)
        if kind == "string" and "default" in schema and schema["default"] != usual:
            out.append(schema["default"])
        # Both ends are valid values, and where off-by-one and overflow bugs live.
        out += [edge for edge in boundaries(schema) if edge != usual and edge not in out]
    return out[:limit]


def valid_variants(
    op: Operation, limit: int = PER_INPUT, *, body: bool = True
) -> list[tuple[str, str, Any, str]]:
    """``(location, name, value, label)`` for each valid alternative of each input of ``op``.

    Optional query parameters (which ``build_request`` leaves out) are sent with an example
    value too: "an optional parameter present" is part of the valid space. ``body=False``
    leaves body fields out (a valid body is a real write: callers that must not change the
    target's data walk query parameters only).
    """
    out: list[tuple[str, str, Any, str]] = []
    for param in op.query_params:
        values = alternatives(param.schema_, limit)
        if not param.required and not values:
            values = [example(param.schema_, param.name)]
        for value in values:
            out.append(("query", param.name, value, f"{param.name}={value!r} (valid)"))
    for name, schema in op.body_fields().items() if body else []:
        if schema.get("x-csrf-token"):
            continue
        for value in alternatives(schema, limit):
            out.append(("body", name, value, f"{name}={value!r} (valid)"))
    return out
