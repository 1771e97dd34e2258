"""Is an accepted cross-user call really cross-user? (AUTH-10)

A 2xx to user B on a route holding user A's id is not yet an access to A's object: on real APIs
most such answers were B's own object (the id is ignored, or numbered per user), a lookup that is
public by design, or a write that changed B's own record whatever the path said. Before a cell is
reported, the owner reads the object back:

* a read: B's answer must carry A's object (A's own answer, or a value of it B has never seen
  in its own data), and must not be what an anonymous caller gets as well;
* a write (PUT, PATCH, POST on an object): A's object, read by A before and after, changed;
* a delete: A could read the object before and no longer can.

An accepted call that cannot be read back is inconclusive: never a violation, never a pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import httpx
from pydantic import BaseModel

from harness.operations import Operation, RequestSpec, ValuePool, request_for
from harness.probes.access import Sender, Verdict

_MIN_MARKER = 4  # shorter strings ("user", "ok") are too common to tell two users apart


class Reading(BaseModel):
    """One read of an object by its owner."""

    path: str
    status: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _parse(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _strings(data: Any, depth: int = 0) -> set[str]:
    if depth > 6:
        return set()
    if isinstance(data, str):
        return {data} if len(data) >= _MIN_MARKER else set()
    if isinstance(data, dict):
        return set().union(*(_strings(v, depth + 1) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(_strings(v, depth + 1) for v in data[:50])) if data else set()
    return set()


def read_route(op: Operation, ops: Iterable[Operation]) -> Operation | None:
    """The GET that shows the object ``op`` acts on: the same path, else the longest prefix
    of it that ends in a path parameter (``PUT /a/{id}/tags`` -> ``GET /a/{id}/tags`` or
    ``GET /a/{id}``)."""
    gets = {o.path: o for o in ops if o.method == "GET"}
    if op.method == "GET":
        return op
    if op.path in gets:
        return gets[op.path]
    for match in sorted(re.finditer(r"}", op.path), key=lambda m: -m.end()):
        prefix = op.path[: match.end()]
        if prefix in gets:
            return gets[prefix]
    return None


def _text(data: Any) -> str:
    return data if isinstance(data, str) else json.dumps(data, sort_keys=True, default=str)


class Verifier:
    """Reads objects back as their owner, and judges the other user's accepted calls."""

    def __init__(
        self,
        ops: list[Operation],
        send_as_owner: Sender,
        *,
        send_anonymous: Sender | None = None,
        others_values: ValuePool | None = None,
    ) -> None:
        self.ops = ops
        self.send_as_owner = send_as_owner
        self.send_anonymous = send_anonymous
        # What the other user saw of its own data: such values prove nothing about the owner.
        seen = others_values.by_name.values() if others_values else []
        self.foreign = {str(v) for values in seen for v in values}

    def read(self, op: Operation, values: dict[str, Any], pool: ValuePool) -> Reading | None:
        route = read_route(op, self.ops)
        if route is None:
            return None
        spec: RequestSpec = request_for(route, values, pool=pool)
        response = self.send_as_owner(spec)
        return Reading(path=spec.path, status=response.status_code, body=_parse(response))

    def judge(
        self,
        op: Operation,
        spec: RequestSpec,
        values: dict[str, Any],
        pool: ValuePool,
        response: httpx.Response,
        before: Reading | None,
    ) -> tuple[Verdict, str]:
        """The verdict of a call the other user got a 2xx for; ``before`` is the owner's read
        of the object just before it (for a GET: the owner's answer to the same request)."""
        status = response.status_code
        if before is None:
            return "inconclusive", (
                f"HTTP {status}, but no GET route reads the object back, so whose object it "
                "changed is unknown"
            )
        if not before.ok:
            return "inconclusive", (
                f"HTTP {status}, but the owner cannot read {before.path} (HTTP {before.status}): "
                "whose object it is is unknown"
            )
        if op.method == "GET":
            return self._judge_read(spec, values, response, before)
        after = self.read(op, values, pool)
        assert after is not None  # the same route answered ``before``
        if op.method == "DELETE":
            if after.status in (404, 410):
                return "accepted", (
                    f"HTTP {status}: the owner's object is gone (read back as the owner: "
                    f"HTTP {after.status}, HTTP {before.status} before)"
                )
            if after.ok:
                return "skipped", (
                    f"HTTP {status}, but the owner's object is still there (read back as the "
                    "owner): the delete did not reach it"
                )
            return "inconclusive", f"HTTP {status}; the owner's read-back got HTTP {after.status}"
        if after.ok and _text(after.body) != _text(before.body):
            return "accepted", (
                f"HTTP {status}: the owner's object changed (read back as the owner at "
                f"{after.path})"
            )
        if after.ok:
            return "skipped", (
                f"HTTP {status}, but the owner's object is unchanged (read back as the owner "
                f"at {after.path}): the write changed the caller's own record"
            )
        return "inconclusive", f"HTTP {status}; the owner's read-back got HTTP {after.status}"

    def _judge_read(
        self, spec: RequestSpec, values: dict[str, Any], response: httpx.Response, before: Reading
    ) -> tuple[Verdict, str]:
        status = response.status_code
        theirs = _parse(response)
        if self.send_anonymous is not None:
            anonymous = self.send_anonymous(spec)
            if anonymous.is_success and _text(_parse(anonymous)) == _text(theirs):
                return "skipped", (
                    f"HTTP {status}, but an anonymous request gets the same answer: public "
                    "by design, not another user's private object"
                )
        if _text(theirs) == _text(before.body):
            return "accepted", f"HTTP {status}: the other user got the owner's own answer"
        path_values = {str(v) for v in values.values()}
        markers = _strings(before.body) - path_values - self.foreign
        found = sorted(markers & _strings(theirs))
        if found:
            return "accepted", (
                f"HTTP {status}: the answer carries the owner's values ({', '.join(found[:3])})"
            )
        return "skipped", (
            f"HTTP {status}, but the answer carries none of the owner's values: it is the "
            "caller's own data, not the owner's object"
        )
