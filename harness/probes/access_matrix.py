"""The two-user access matrix (AUTH-10): user B calls every object route with user A's ids.

The result is a matrix an auditor can read: operation x object -> A's status, B's status,
verdict. A call B gets a 2xx for is only reported once ``harness.probes.access_verify`` has read
the object back as A and found that it was A's object that B read or changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
from pydantic import BaseModel, Field

from harness.operations import Operation, ValuePool, fill_path, request_for
from harness.probes.access import (
    _ORDER,
    Sender,
    Verdict,
    _excerpt,
    _fillable,
    is_login_redirect,
)
from harness.probes.access_verify import Reading, Verifier


class MatrixCell(BaseModel):
    operation: str
    method: str
    path: str
    owner_status: int | None = None
    other_status: int
    verdict: Verdict
    reason: str = ""
    response_excerpt: str = ""


class AccessMatrix(BaseModel):
    owner: str
    other: str
    objects: dict[str, list[Any]] = Field(default_factory=dict)
    shared: dict[str, list[Any]] = Field(
        default_factory=dict, description="ids the other user lists too: not private"
    )
    cells: list[MatrixCell] = Field(default_factory=list)
    untested: list[str] = Field(
        default_factory=list, description="object routes with no owned object to try"
    )

    @property
    def violations(self) -> list[MatrixCell]:
        """Accepted calls verified as cross-user (the owner's object read or changed)."""
        return [c for c in self.cells if c.verdict == "accepted"]

    @property
    def not_cross_user(self) -> list[MatrixCell]:
        """2xx answers that read back as the caller's own or public data: not reported."""
        return [c for c in self.cells if c.verdict == "skipped"]

    @property
    def inconclusive(self) -> list[MatrixCell]:
        return [c for c in self.cells if c.verdict == "inconclusive"]


def classify_cross(
    response: httpx.Response, owner_status: int | None, login_paths: Iterable[str]
) -> tuple[Verdict, str]:
    status = response.status_code
    if status in (403, 404):
        if owner_status is not None and not 200 <= owner_status < 300:
            return "inconclusive", f"HTTP {status}, but the owner got HTTP {owner_status} too"
        return "rejected", f"HTTP {status}"
    if 200 <= status < 400 and not is_login_redirect(response, login_paths):
        return "accepted", f"HTTP {status}: the other user reached the owner's object"
    if status == 401 or is_login_redirect(response, login_paths):
        return "inconclusive", "the other user's session was not accepted at all"
    return "inconclusive", f"HTTP {status}"


def cross_access(
    owner_name: str,
    other_name: str,
    send_as_owner: Sender,
    send_as_other: Sender,
    ops: list[Operation],
    owned: ValuePool,
    other_pool: ValuePool,
    *,
    login_paths: Iterable[str] = (),
    exclude: Callable[[Operation], bool] = lambda op: False,
    send_anonymous: Sender | None = None,
) -> AccessMatrix:
    """The other user calls every object route with the owner's private ids; what it gets a
    2xx for is read back as the owner before it counts (``send_anonymous``: also asks whether
    a read is public by design)."""
    login_paths = list(login_paths)
    verifier = Verifier(ops, send_as_owner, send_anonymous=send_anonymous, others_values=other_pool)
    private = ValuePool(by_name=dict(owned.by_name))
    matrix = AccessMatrix(owner=owner_name, other=other_name)
    for collection, ids in owned.ids_by_collection.items():
        theirs = set(map(str, other_pool.ids_by_collection.get(collection, [])))
        keep = [i for i in ids if str(i) not in theirs]
        shared = [i for i in ids if str(i) in theirs]
        private.ids_by_collection[collection] = keep
        if keep:
            matrix.objects[collection] = keep
        if shared:
            matrix.shared[collection] = shared
    object_ops = [op for op in ops if op.path_param_names and not exclude(op)]
    for op in sorted(object_ops, key=lambda o: _ORDER.get(o.method, 1)):
        combos = _fillable(op, private)
        if not combos:
            matrix.untested.append(op.key)
            continue
        for values in combos:
            spec = request_for(op, values, pool=private, style="complete")
            # The owner's read of the object just before (for a GET: the same request).
            before: Reading | None = verifier.read(op, values, private)
            owner_status = before.status if before is not None and op.method == "GET" else None
            response = send_as_other(spec)
            verdict, reason = classify_cross(response, owner_status, login_paths)
            if verdict == "accepted":
                verdict, reason = verifier.judge(op, spec, values, private, response, before)
            matrix.cells.append(
                MatrixCell(
                    operation=op.key,
                    method=op.method,
                    path=fill_path(op.path, values),
                    owner_status=owner_status,
                    other_status=response.status_code,
                    verdict=verdict,
                    reason=reason,
                    response_excerpt=_excerpt(response),
                )
            )
    return matrix
