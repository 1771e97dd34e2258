"""API-09: a created resource is retrievable, a deleted one is gone.

Resources are inferred from the document's paths (the dependency Schemathesis infers too): a
collection ``POST /x`` whose item ``/x/{id}`` has both ``GET`` and ``DELETE``. For each, the
probe creates an object with a complete example body, reads it back (it must be there: 200),
deletes it (2xx), and reads it again (it must be gone: 404 or 410). The id comes from the
create answer (the item's path parameter name, ``id``, or the ``Location`` header).

The create and the first read are the positive control: a collection the probe cannot create
in, or read back, is named, and a walk that completed no cycle is not a pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.operations.model import Operation
from harness.operations.values import example

# (method, path, json body) -> (status, parsed JSON body or None, Location header)
Send = Callable[[str, str, Any], tuple[int, Any, str]]
GONE = (404, 410)


class Resource(BaseModel):
    create: Operation
    read: Operation
    delete: Operation
    param: str


class Cycle(BaseModel):
    resource: str
    steps: list[str] = Field(default_factory=list)
    problem: str = ""
    skipped: str = ""


class LifecycleReport(BaseModel):
    cycles: list[Cycle] = Field(default_factory=list)

    @property
    def problems(self) -> list[Cycle]:
        return [c for c in self.cycles if c.problem]

    @property
    def completed(self) -> list[Cycle]:
        return [c for c in self.cycles if not c.skipped]


def resources(ops: list[Operation]) -> list[Resource]:
    """Collections with a create and an item that can be read and deleted."""
    by_key = {(op.method.upper(), op.path): op for op in ops}
    found: list[Resource] = []
    for op in ops:
        if op.method.upper() != "POST" or "{" in op.path:
            continue
        for (method, path), item in by_key.items():
            if method != "GET" or not path.startswith(op.path.rstrip("/") + "/{"):
                continue
            rest = path[len(op.path.rstrip("/")) + 1 :]
            if not rest.endswith("}") or "/" in rest:
                continue
            delete = by_key.get(("DELETE", path))
            if delete is not None:
                found.append(Resource(create=op, read=item, delete=delete, param=rest[1:-1]))
    return found


def _id_of(body: Any, param: str, location: str, collection: str) -> Any:
    if isinstance(body, dict):
        for key in (param, "id"):
            if body.get(key) not in (None, ""):
                return body[key]
    if location.startswith(collection.rstrip("/") + "/"):
        return location.rstrip("/").rsplit("/", 1)[-1]
    return None


def cycle(resource: Resource, send: Send) -> Cycle:
    name = resource.read.path
    result = Cycle(resource=name)
    body = example(resource.create.body_schema or {}, style="complete")
    status, created, location = send("POST", resource.create.path, body)
    result.steps.append(f"POST {resource.create.path} -> {status}")
    if not 200 <= status < 300:
        result.skipped = f"the create answered HTTP {status}"
        return result
    ident = _id_of(created, resource.param, location, resource.create.path)
    if ident is None:
        result.skipped = "the create answer carries no id"
        return result
    path = resource.read.path.replace("{" + resource.param + "}", str(ident))
    status, _, _ = send("GET", path, None)
    result.steps.append(f"GET {path} -> {status}")
    if status != 200:
        result.problem = f"a created object is not retrievable (GET {path} -> {status})"
        return result
    status, _, _ = send("DELETE", path, None)
    result.steps.append(f"DELETE {path} -> {status}")
    if not 200 <= status < 300:
        result.skipped = f"the delete answered HTTP {status}"
        return result
    status, _, _ = send("GET", path, None)
    result.steps.append(f"GET {path} -> {status}")
    if status not in GONE:
        result.problem = (
            f"a deleted object is still served (DELETE {path} answered success, "
            f"then GET -> {status})"
        )
    return result


def probe(ops: list[Operation], send: Send) -> LifecycleReport:
    return LifecycleReport(cycles=[cycle(resource, send) for resource in resources(ops)])
