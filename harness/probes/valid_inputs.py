"""Schema-valid but less common inputs of read operations, sent to see what they answer.

A value generator that always picks the first enum member never reaches an error behind
another member (``?order=name``). This walk sends each GET operation once per valid
alternative of its query parameters (other enum members, boundaries, optional parameters
present), within a request budget, and returns every answer for the caller to judge (SEC-07
reads their bodies). Only GET: a valid body is a real write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.operations import Operation, build_request
from harness.operations.valid_space import valid_variants
from harness.probes.bounded import Fetched

Send = Callable[..., Fetched]


class ValidWalk(BaseModel):
    answers: list[Fetched] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)  # "GET /x order='name' (valid)" per answer
    left_out: int = 0  # valid variants not sent for the budget

    def describe(self) -> str:
        more = f"; {self.left_out} left out for the budget" if self.left_out else ""
        return f"{len(self.answers)} schema-valid variants sent{more}"


def explore_valid(
    send: Send,
    ops: list[Operation],
    ids: dict[str, Any],
    *,
    budget: int = 30,
    skip: Callable[[Operation], bool] | None = None,
) -> ValidWalk:
    walk = ValidWalk()
    for op in ops:
        if op.method != "GET" or (skip is not None and skip(op)):
            continue
        for location, name, value, label in valid_variants(op, body=False):
            if len(walk.answers) >= budget:
                walk.left_out += 1
                continue
            method, path, kwargs = build_request(op, ids, (location, name, value))
            walk.answers.append(send(method, path, total_s=5, **kwargs))
            walk.labels.append(f"{op.key} {label}")
    return walk
