"""OPS-04: one dependency at a time is stopped under traffic; the app must degrade, not fall.

While the dependency is down, the routes that do not need it (liveness, static files and the
profile's ``resilience.unaffected_paths`` for that service) must keep answering: more failures
than the error budget is a 5xx storm. Readiness must reflect the outage (its status code or
overall word changes from the healthy answer, or the dependency is reported unhealthy), and
once the dependency is back every route and readiness must recover within
``resilience.recovery_s``. The dependency is started again whatever happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import httpx
from pydantic import BaseModel, Field

from harness.drills.prober import figures, recovered_at, window
from harness.drills.traffic_frame import Drill
from harness.probes.health import Readiness

ReadFn = Callable[[], Readiness]


class OutageResult(BaseModel):
    service: str
    failed_unaffected: int = 0
    requests_during: int = 0
    failed_by_status: dict[str, int] = Field(default_factory=dict)
    readiness_before: str = ""
    readiness_during: list[str] = Field(default_factory=list)
    reflected: bool = False
    recovered: bool = False
    recovery_s: float | None = None
    problems: list[str] = Field(default_factory=list)


def _describe(ready: Readiness | None) -> str:
    if ready is None:
        return "no answer"
    bad = [d.name for d in ready.dependencies if d.healthy is False]
    return f"{ready.status_code} {ready.overall or '-'}" + (
        f" ({', '.join(bad)} down)" if bad else ""
    )


def _reflects(before: Readiness, now: Readiness, names: Sequence[str]) -> bool:
    dep = now.dependency(names)
    return (
        now.status_code != before.status_code
        or (now.overall or "") != (before.overall or "")
        or (dep is not None and dep.healthy is False)
    )


def _safe_read(read: ReadFn) -> Readiness | None:
    try:
        return read()
    except httpx.HTTPError:
        return None


def run(
    drill: Drill,
    service: str,
    *,
    stop: Callable[[], None],
    start: Callable[[], None],
    read_ready: ReadFn,
    names: Sequence[str],
    budget: int,
    outage_s: float,
    recovery_s: float,
) -> OutageResult:
    """Stop ``service`` for ``outage_s`` under the drill's prober, then start it and wait."""
    result = OutageResult(service=service)
    before = _safe_read(read_ready)
    result.readiness_before = _describe(before)
    with drill.step(f"stop {service}"):
        stop()
    down_at = drill.prober.now()
    try:
        deadline = time.monotonic() + outage_s
        while time.monotonic() < deadline:
            now = _safe_read(read_ready)
            result.readiness_during.append(_describe(now))
            if before is not None and now is not None and _reflects(before, now, names):
                result.reflected = True
            time.sleep(0.3)
    finally:
        with drill.step(f"start {service}"):
            start()
    up_at = drill.prober.now()
    during = figures(window(drill.prober.samples, down_at, up_at))
    result.failed_unaffected = during.failed
    result.requests_during = during.requests
    result.failed_by_status = during.failed_by_status

    # Recovery: every route answering again and readiness back to its healthy answer.
    deadline = time.monotonic() + recovery_s
    ready_again: float | None = None
    while time.monotonic() < deadline:
        now = _safe_read(read_ready)
        if before is not None and now is not None and not _reflects(before, now, names):
            ready_again = drill.prober.now()
            break
        time.sleep(0.25)
    drill.prober.wait_for(3, timeout_s=10)
    routes_back = recovered_at(drill.prober.samples, up_at)
    if ready_again is not None and routes_back is not None:
        result.recovered = True
        result.recovery_s = round(max(ready_again, routes_back) - up_at, 2)
    drill.prober.mark(f"{service} recovered" if result.recovered else f"{service} not recovered")

    if before is None:
        result.problems.append("readiness did not answer before the outage")
    if during.failed > budget:
        result.problems.append(
            f"{during.failed} of {during.requests} requests to routes that do not need {service} "
            f"failed while it was down (error budget {budget}): "
            + ", ".join(f"{k}: {v}" for k, v in during.failed_by_status.items())
        )
    if during.requests == 0:
        result.problems.append(f"no request was answered or refused while {service} was down")
    if not result.reflected:
        result.problems.append(
            f"readiness did not reflect the {service} outage in {outage_s:.0f} s (before: "
            f"{result.readiness_before}; during: {', '.join(sorted(set(result.readiness_during)))})"
        )
    if not result.recovered:
        result.problems.append(
            f"not recovered within {recovery_s:.0f} s after {service} was started again"
        )
    return result
