"""API-07 super-linear input handling: does response time grow faster than the input?

Each string input (a query parameter of a GET operation) is sent strings of growing length
(``LENGTHS``: 250, 1k, 4k, 16k characters), each length ``REPEATS`` times; the median time of
a length is compared with the previous one. Linear work cannot grow faster than the length
(4x for 4x the characters, less with the fixed cost of a request), so a step is super-linear
when its time grows more than ``FACTOR`` times the length ratio *and* by at least ``FLOOR_S``
(80 ms: tiny times are all noise). A super-linear step is measured again before it counts.

The target must not be frozen by the probe: a point stops at the first sign of trouble (a
super-linear step, an answer slower than ``STOP_S``, a request unanswered), the whole probe
stops at the first confirmed super-linear input, and everything runs within ``BUDGET_S``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Literal

import httpx
from pydantic import BaseModel, Field

from harness.operations import Operation, RequestSpec, request_for

Sender = Callable[[RequestSpec], httpx.Response]
Verdict = Literal["linear", "superlinear", "stopped", "unanswered"]

LENGTHS = (250, 1_000, 4_000, 16_000)
REPEATS = 3
FACTOR = 1.5
FLOOR_S = 0.08
STOP_S = 2.0
BUDGET_S = 60.0
MAX_POINTS = 20


class Step(BaseModel):
    length: int
    statuses: list[int] = Field(default_factory=list)
    times_ms: list[float] = Field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else 0.0


class PointResult(BaseModel):
    operation: str
    name: str
    steps: list[Step] = Field(default_factory=list)
    verdict: Verdict = "linear"
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.operation} query:{self.name}"


class SuperlinearReport(BaseModel):
    inputs: int = Field(description="string inputs found")
    results: list[PointResult] = Field(default_factory=list)
    left: list[str] = Field(default_factory=list, description="inputs not tried, and why")

    @property
    def superlinear(self) -> list[PointResult]:
        return [r for r in self.results if r.verdict == "superlinear"]

    @property
    def measured(self) -> list[PointResult]:
        return [r for r in self.results if r.verdict in ("linear", "superlinear")]

    def summary(self) -> str:
        line = f"checked {len(self.measured)} of {self.inputs} string inputs"
        lengths = "/".join(f"{n // 1000}k" if n >= 1000 else str(n) for n in LENGTHS)
        line += f" at {lengths} characters, {REPEATS} times each"
        codes = sorted({c for r in self.measured for st in r.steps for c in st.statuses})
        if codes:
            # A refusal at every length is a fine answer, but it says the input was not handled.
            line += f" (answers: HTTP {', '.join(map(str, codes))})"
        others = [r for r in self.results if r.verdict in ("stopped", "unanswered")]
        if others:
            line += "; " + "; ".join(f"{r.label}: {r.reason}" for r in others[:5])
        if self.left:
            line += f"; {len(self.left)} not tried ({self.left[0]}"
            line += ", ...)" if len(self.left) > 1 else ")"
        return line


def string_inputs(ops: Sequence[Operation]) -> list[tuple[Operation, str]]:
    """(operation, query parameter) of every GET whose query takes a string."""
    found: list[tuple[Operation, str]] = []
    for op in ops:
        if op.method != "GET":
            continue
        for param in op.query_params:
            kind = param.schema_.get("type")
            if kind in (None, "string") and not param.schema_.get("enum"):
                found.append((op, param.name))
    return found


def payload(length: int) -> str:
    """Repetitive text with a mismatch at the end: what backtracking and naive scans hate."""
    return "a" * (length - 1) + "!"


def _timed(send: Sender, spec: RequestSpec) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        status = send(spec).status_code
    except httpx.TimeoutException:
        status = 0  # unanswered within the client's timeout: at least that slow
    except httpx.HTTPError:
        return -1, (time.perf_counter() - started) * 1000
    return status, (time.perf_counter() - started) * 1000


def _superlinear(before: Step, after: Step) -> bool:
    grew_ms = after.median_ms - before.median_ms
    ratio = after.median_ms / max(before.median_ms, 1.0)
    return grew_ms >= FLOOR_S * 1000 and ratio > FACTOR * after.length / before.length


class SuperlinearProbe:
    def __init__(
        self,
        send: Sender,
        ids: dict[str, object] | None = None,
        *,
        lengths: Sequence[int] = LENGTHS,
        repeats: int = REPEATS,
        stop_s: float = STOP_S,
    ) -> None:
        self.send = send
        self.ids = ids or {}
        self.lengths = list(lengths)
        self.repeats = repeats
        self.stop_s = stop_s

    def _step(self, op: Operation, name: str, length: int) -> Step:
        step = Step(length=length)
        spec = request_for(op, self.ids, ("query", name, payload(length)))
        for _ in range(self.repeats):
            status, elapsed = _timed(self.send, spec)
            step.statuses.append(status)
            step.times_ms.append(elapsed)
            if status <= 0 or elapsed > self.stop_s * 1000:
                break  # trouble: no more of the same
        return step

    def point(self, op: Operation, name: str) -> PointResult:
        result = PointResult(operation=op.key, name=name)
        for length in self.lengths:
            step = self._step(op, name, length)
            result.steps.append(step)
            if -1 in step.statuses:
                result.verdict, result.reason = "unanswered", f"no answer at {length} characters"
                return result
            previous = result.steps[-2] if len(result.steps) > 1 else None
            if previous is not None and _superlinear(previous, step):
                # Measured again before it counts: one slow moment of a loaded machine is noise.
                again = [self._step(op, name, previous.length), self._step(op, name, length)]
                if _superlinear(again[0], again[1]):
                    result.steps += again
                    result.verdict = "superlinear"
                    growth = again[1].median_ms / max(again[0].median_ms, 1.0)
                    result.reason = (
                        f"{previous.length} -> {length} characters: {previous.median_ms:.0f} -> "
                        f"{step.median_ms:.0f} ms, then {again[0].median_ms:.0f} -> "
                        f"{again[1].median_ms:.0f} ms (x{growth:.1f} for "
                        f"x{length / previous.length:.0f} the length)"
                    )
                    return result
            if step.median_ms > self.stop_s * 1000 or 0 in step.statuses:
                if previous is None:
                    result.verdict = "stopped"
                    result.reason = (
                        f"{step.median_ms:.0f} ms already at {length} characters: "
                        "no growth to measure"
                    )
                else:
                    result.reason = f"stopped at {length} characters ({step.median_ms:.0f} ms)"
                return result
        return result

    def run(
        self, inputs: Sequence[tuple[Operation, str]], *, budget_s: float = BUDGET_S
    ) -> SuperlinearReport:
        report = SuperlinearReport(inputs=len(inputs))
        deadline = time.monotonic() + budget_s
        for index, (op, name) in enumerate(inputs):
            label = f"{op.key} query:{name}"
            if index >= MAX_POINTS:
                report.left.append(f"{label}: beyond {MAX_POINTS} inputs")
                continue
            if time.monotonic() > deadline:
                report.left.append(f"{label}: beyond the {budget_s:.0f} s budget")
                continue
            if report.superlinear:
                report.left.append(f"{label}: stopped after the first super-linear input")
                continue
            report.results.append(self.point(op, name))
        return report
