"""PERF-06: a step load on one read route; the highest step that still meets the SLO.

Open model: each step schedules ``rate x seconds`` requests at fixed instants and a request's
latency counts from its scheduled instant, so a server that falls behind shows its queue in
the latency instead of slowing the generator down (no coordinated omission). A step meets the
SLO when its p95 is within ``slo.p95_ms`` and its error ratio (no answer, 5xx, 429) within
``slo.error_rate``; each step lasts long enough for 40 requests. Capacity is the highest step
that meets it with every lower step meeting it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, Field

# (path) -> HTTP status, 0 when unanswered; one call per request.
Send = Callable[[], int]


class Step(BaseModel):
    rate_rps: float
    sent: int
    errors: int
    p95_ms: float
    statuses: dict[str, int] = Field(default_factory=dict)
    retried: bool = Field(default=False, description="missed once, measured again")

    def meets(self, p95_ms: float, error_rate: float) -> bool:
        return self.p95_ms <= p95_ms and self.errors <= error_rate * self.sent


class Capacity(BaseModel):
    steps: list[Step] = Field(default_factory=list)
    capacity_rps: float = 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.inf
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def run_step(send: Send, rate_rps: float, seconds: float, workers: int = 16) -> Step:
    count = max(1, round(rate_rps * seconds))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.05

    def one(i: int) -> None:
        due = start + i / rate_rps
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        status = send()
        elapsed_ms = (time.monotonic() - due) * 1000
        with lock:
            latencies.append(elapsed_ms)
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(count)))
    errors = sum(n for s, n in statuses.items() if s == "0" or s == "429" or s.startswith("5"))
    return Step(
        rate_rps=rate_rps,
        sent=count,
        errors=errors,
        p95_ms=round(percentile(latencies, 0.95), 1),
        statuses=statuses,
    )


# A p95 from fewer requests is little more than the slowest one.
MIN_STEP_REQUESTS = 40


def step_seconds(rate_rps: float, step_s: float) -> float:
    """Long enough for MIN_STEP_REQUESTS at this rate, and at least ``step_s``."""
    return max(step_s, MIN_STEP_REQUESTS / rate_rps)


def default_steps(peak: float) -> list[float]:
    return [round(peak * f, 2) for f in (1 / 3, 2 / 3, 1.0, 4 / 3)]


def find_capacity(steps: list[Step], p95_ms: float, error_rate: float) -> float:
    capacity = 0.0
    for step in steps:
        if not step.meets(p95_ms, error_rate):
            break
        capacity = step.rate_rps
    return capacity
