"""Concrete requests for operations, and real ids for templated paths."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import BaseModel, Field

from harness.operations.model import Operation
from harness.operations.values import Style, ValuePool, example

_PARAM = re.compile(r"{([^}/]+)}")


class RequestSpec(BaseModel):
    """A concrete request for one operation."""

    method: str
    path: str
    params: dict[str, Any] = Field(default_factory=dict)
    json_body: Any = None
    has_body: bool = False
    form: dict[str, Any] | None = None

    def call(self) -> tuple[str, str, dict[str, Any]]:
        """(method, path, httpx keyword arguments)."""
        kwargs: dict[str, Any] = {}
        if self.params:
            kwargs["params"] = self.params
        if self.has_body:
            kwargs["json"] = self.json_body
        elif self.form is not None:
            kwargs["data"] = self.form
        return self.method, self.path, kwargs


def request_for(
    op: Operation,
    ids: dict[str, Any] | None = None,
    override: tuple[str, str, Any] | None = None,
    *,
    pool: ValuePool | None = None,
    style: Style = "minimal",
) -> RequestSpec:
    """A schema-valid request for ``op``, with one input replaced by ``override``.

    Path values come from ``ids`` (keyed ``"<path>:<name>"`` or ``"<name>"``), then from the
    pool, then from the parameter's schema. Only required query parameters are sent.
    """
    ids = ids or {}
    values: dict[str, Any] = {}
    for param in op.path_params:
        key = f"{op.path}:{param.name}"
        if key in ids or param.name in ids:
            values[param.name] = ids.get(key, ids.get(param.name))
            continue
        candidates = pool.for_param(op.path, param.name) if pool else []
        values[param.name] = (
            candidates[0] if candidates else example(param.schema_, param.name, pool, style)
        )
    query = {p.name: example(p.schema_, p.name, pool, style) for p in op.query_params if p.required}
    body: Any = example(op.body_schema, None, pool, style) if op.body_schema else None
    if override is not None:
        location, name, value = override
        if location == "path":
            values[name] = value
        elif location == "query":
            query[name] = value
        elif location == "body":
            body = dict(body) if isinstance(body, dict) else {}
            body[name] = value
    path = _PARAM.sub(lambda m: quote(str(values.get(m.group(1), 1)), safe=""), op.path)
    spec = RequestSpec(method=op.method, path=path, params=query)
    if body is not None:
        if op.body_media_type and "form" in op.body_media_type and isinstance(body, dict):
            spec.form = body
        else:
            spec.json_body = body
            spec.has_body = True
    return spec


def build_request(
    op: Operation, ids: dict[str, Any], override: tuple[str, str, Any] | None = None
) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx kwargs) of ``request_for`` in its minimal style."""
    return request_for(op, ids, override).call()


def collection_for(op: Operation, ops: list[Operation]) -> Operation | None:
    """The GET listing whose items a templated path addresses (``/x/{id}`` -> ``GET /x``)."""
    prefix = op.path.split("/{", 1)[0]
    for other in ops:
        if other.method == "GET" and other.path == prefix and not other.path_param_names:
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


class _Answer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def body(self) -> str: ...


Send = Callable[..., _Answer]


def discover_ids(send: Send, ops: list[Operation], *, create: bool = True) -> dict[str, Any]:
    """Real ids for templated paths: read each listing, create one item when it is empty.

    ``send(method, path, **kwargs)`` returns a harness.probes.bounded.Fetched. Creating goes
    through the listing's own POST with an example body, so it stays generic.
    """
    ids: dict[str, Any] = {}
    for op in ops:
        names = op.path_param_names
        if not names:
            continue
        listing = collection_for(op, ops)
        if listing is None:
            continue
        found = _first_id_of(send("GET", listing.path))
        if found is None and create:
            creator = next(
                (o for o in ops if o.method == "POST" and o.path == listing.path and o.body_schema),
                None,
            )
            if creator is not None:
                method, path, kwargs = build_request(creator, ids)
                found = _first_id_of(send(method, path, **kwargs), (200, 201))
        if found is not None:
            ids[f"{op.path}:{names[-1]}"] = found
            ids.setdefault(names[-1], found)
    return ids


def _first_id_of(response: _Answer, ok: tuple[int, ...] = (200,)) -> Any:
    if response.status not in ok:
        return None
    try:
        return first_id(json.loads(response.body))
    except ValueError:
        return None
