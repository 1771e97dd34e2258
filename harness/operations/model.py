"""The operation model every probe and suite works on: one METHOD + path of the target, its
inputs (parameters and a body schema) and where it was learnt (the OpenAPI document or a crawl).

Loading lives elsewhere (``openapi.py``, ``crawl.py``); request building in ``requests.py``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PARAM = re.compile(r"{([^}/]+)}")

Source = Literal["openapi", "crawl"]


class Param(BaseModel):
    """One input outside the body (``location`` is query, path, header or cookie)."""

    name: str
    location: str
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    required: bool = False

    model_config = {"populate_by_name": True}


class Operation(BaseModel):
    """One METHOD + path, with what a caller needs to build a request for it.

    Schemas are already resolved (``$ref`` inlined, ``allOf`` merged) by the loader, so callers
    never need the document again.
    """

    method: str
    path: str
    operation_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    params: list[Param] = Field(default_factory=list)
    body_schema: dict[str, Any] | None = None
    body_media_type: str | None = None
    body_required: bool = False
    # None: the document says nothing; [] or [{}]: credentials optional.
    security: list[dict[str, list[str]]] | None = None
    source: Source = "openapi"
    # Crawled forms: the page the form was on (its CSRF token came from there).
    page: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[Param]:
        declared = {p.name: p for p in self.params if p.location == "path"}
        return [
            declared.get(name) or Param(name=name, location="path")
            for name in self.path_param_names
        ]

    @property
    def path_param_names(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def query_params(self) -> list[Param]:
        return [p for p in self.params if p.location == "query"]

    def body_fields(self) -> dict[str, dict[str, Any]]:
        if not self.body_schema:
            return {}
        return dict(self.body_schema.get("properties") or {})

    @property
    def state_changing(self) -> bool:
        return self.method in STATE_CHANGING

    @property
    def secured(self) -> bool:
        """Some security requirement is declared (possibly an optional one)."""
        return bool(self.security)

    @property
    def declared_secured(self) -> bool:
        """The document requires credentials (an empty ``{}`` alternative makes them optional)."""
        return bool(self.security) and all(bool(req) for req in self.security or [])

    @property
    def collection(self) -> str:
        """The path up to the last path parameter: where the objects it addresses are listed."""
        names = self.path_param_names
        return collection_of(self.path, names[-1]) if names else self.path


def collection_of(path: str, param: str) -> str:
    """``/a/{x}/b/{y}`` and ``y`` -> ``/a/{x}/b``."""
    return path.split("{" + param + "}", 1)[0].rstrip("/")


def fill_path(path: str, values: dict[str, Any]) -> str:
    """Path parameters replaced by ``values`` (missing ones stay templated)."""
    return _PARAM.sub(lambda m: str(values.get(m.group(1), m.group(0))), path)


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
            # A form's CSRF token is checked, not interpreted: no payload belongs there.
            if not schema.get("x-csrf-token"):
                out.append(Point(op=op, location="body", name=name, schema=schema))
    return out


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
