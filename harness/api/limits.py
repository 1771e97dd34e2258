"""API-08: oversized page sizes and request bodies are refused, not crashed on or waited out.

Page sizes: every query parameter of a read operation that is a documented integer with a
``maximum``, or is named like a page size (``limit``, ``per_page``, ...), gets one past the
maximum, a million and 10^30. A 4xx is the right answer; a 5xx, a reset or a timeout is a
failure; a 2xx that returns more items than the documented maximum is a failure (the cap is not
applied); other 2xx answers (the value was clamped) are noted.

Bodies: every JSON write operation the safety mode allows gets a body of ``OVERSIZED_BYTES``
(a string field padded out). A 4xx (413 at best) is right; 2xx, 5xx, a reset or a timeout fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.operations.model import Operation

OVERSIZED_BYTES = 16 * 1024 * 1024
PAGE_NAMES = frozenset(
    {"limit", "page_size", "pagesize", "per_page", "perpage", "size", "count", "top", "take"}
)

# (method, path, params, json body) -> (status, items in the largest list of the body, error)
Send = Callable[[str, str, dict[str, Any], Any], tuple[int, int, str]]


class LimitOutcome(BaseModel):
    operation: str
    sent: str
    status: int
    items: int = 0
    problem: str = ""
    note: str = ""


class LimitsReport(BaseModel):
    outcomes: list[LimitOutcome] = Field(default_factory=list)
    skipped: dict[str, str] = Field(default_factory=dict)

    @property
    def problems(self) -> list[LimitOutcome]:
        return [o for o in self.outcomes if o.problem]


def page_params(op: Operation) -> list[tuple[str, int | None]]:
    """(name, documented maximum) of the page-size parameters of ``op``."""
    out: list[tuple[str, int | None]] = []
    for param in op.params:
        if param.location != "query":
            continue
        schema = param.schema_
        maximum = schema.get("maximum")
        if schema.get("type") == "integer" and isinstance(maximum, int):
            out.append((param.name, maximum))
        elif param.name.lower() in PAGE_NAMES and schema.get("type") in ("integer", None):
            out.append((param.name, None))
    return out


def largest_list(body: Any) -> int:
    """Items in the largest list of a JSON body (a page of results)."""
    if isinstance(body, list):
        return max([len(body), *(largest_list(v) for v in body[:5])])
    if isinstance(body, dict):
        return max([0, *(largest_list(v) for v in body.values())])
    return 0


def _padded(schema: dict[str, Any] | None) -> dict[str, Any]:
    properties = (schema or {}).get("properties") or {}
    field = next(
        (name for name, prop in properties.items() if (prop or {}).get("type") == "string"),
        "data",
    )
    return {field: "x" * OVERSIZED_BYTES}


def _judge_status(status: int, error: str) -> str:
    if status == 0:
        return f"no answer ({error})"
    if status >= 500:
        return f"server error HTTP {status}"
    return ""


def probe(reads: list[Operation], writes: list[Operation], send: Send) -> LimitsReport:
    report = LimitsReport()
    for op in reads:
        if "{" in op.path:
            report.skipped[op.key] = "a templated path (page sizes are probed on collections)"
            continue
        for name, maximum in page_params(op):
            values = ([maximum + 1] if maximum is not None else []) + [10**6, 10**30]
            for value in values:
                status, items, error = send(op.method, op.path, {name: value}, None)
                outcome = LimitOutcome(operation=op.key, sent=f"{name}={value}", status=status)
                outcome.items = items
                outcome.problem = _judge_status(status, error)
                if not outcome.problem and 200 <= status < 300:
                    if maximum is not None and items > maximum:
                        outcome.problem = f"{items} items returned, documented maximum {maximum}"
                    else:
                        outcome.note = "accepted (clamped, or too few objects to tell)"
                report.outcomes.append(outcome)
    for op in writes:
        if not op.body_media_type or "json" not in op.body_media_type:
            report.skipped[op.key] = "no JSON request body"
            continue
        if "{" in op.path:
            report.skipped[op.key] = "a templated path"
            continue
        status, _, error = send(op.method, op.path, {}, _padded(op.body_schema))
        outcome = LimitOutcome(
            operation=op.key, sent=f"a {OVERSIZED_BYTES // (1024 * 1024)} MiB body", status=status
        )
        outcome.problem = _judge_status(status, error)
        if not outcome.problem and status < 400:
            outcome.problem = f"an oversized body was accepted (HTTP {status})"
        report.outcomes.append(outcome)
    return report
