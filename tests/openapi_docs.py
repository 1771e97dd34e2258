"""Building blocks of the small OpenAPI documents that tests and their targets describe.

A request body of one JSON object is eight lines of nesting around the only part a test cares
about (its properties); spelling it once keeps each document down to what differs.
"""

from __future__ import annotations

from typing import Any


def json_body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A ``requestBody`` of one JSON object with these properties (and required names)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        schema["required"] = required
    return {"content": {"application/json": {"schema": schema}}}
