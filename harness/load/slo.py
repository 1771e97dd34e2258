"""Judge a load run against the profile's objectives (``[slo]`` and ``[load]``).

The same function sets Locust's exit code at quit (``load/``) and gives PERF-02 its verdict, so
`locust -f load/` and `harness load` can never disagree about a run.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from harness.load.figures import LoadFigures
from harness.profile import Profile
from harness.profile.sections import SloSettings

MIN_FOR_MEDIAN = 3  # fewer requests than this say nothing about a route on their own


class Thresholds(BaseModel):
    p95_ms: float
    p99_ms: float | None = None
    error_rate: float
    min_rps: float | None = None
    min_samples: int = 20
    route_p95_ms: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def from_profile(cls, profile: Profile | None) -> Thresholds:
        slo = profile.slo if profile else SloSettings()
        samples = profile.load.min_samples if profile else 20
        return cls(
            p95_ms=slo.p95_ms,
            p99_ms=slo.p99_ms,
            error_rate=slo.error_rate,
            min_rps=slo.min_rps,
            min_samples=samples,
            route_p95_ms=slo.route_p95_ms,
        )


class SloVerdict(BaseModel):
    ok: bool
    problems: list[str] = Field(default_factory=list)
    judged_routes: int = 0
    routes: int = 0
    summary: str = ""


def judge(figures: LoadFigures, limits: Thresholds) -> SloVerdict:
    """Every objective over all requests, and the percentiles of each route with enough samples
    (a slow route hides in the aggregate when it is a small share of the traffic)."""
    problems: list[str] = []
    if figures.requests == 0:
        return SloVerdict(ok=False, problems=["the run sent no request"], summary="no request")
    # Overall percentiles leave out the routes with an objective of their own (when the
    # figures carry that split; see harness.load.hooks.figures_of).
    # Too few requests for a percentile: the median stands in, as for a route (see below).
    p95, p99 = figures.overall_p95_ms, figures.overall_p99_ms
    if figures.requests < limits.min_samples:
        if figures.p50_ms > limits.p95_ms:
            problems.append(
                f"median {figures.p50_ms:.0f} ms over all {figures.requests} requests > the p95 "
                f"objective {limits.p95_ms:.0f} ms"
            )
    else:
        if p95 > limits.p95_ms:
            problems.append(f"p95 {p95:.0f} ms over all requests > {limits.p95_ms:.0f} ms")
        if limits.p99_ms is not None and p99 > limits.p99_ms:
            problems.append(f"p99 {p99:.0f} ms over all requests > {limits.p99_ms:.0f} ms")
    if figures.error_ratio > limits.error_rate:
        problems.append(
            f"error ratio {figures.error_ratio:.2%} ({figures.failures} of {figures.requests}) "
            f"> {limits.error_rate:.2%}"
        )
    if limits.min_rps is not None and figures.rps < limits.min_rps:
        problems.append(f"throughput {figures.rps:.1f} rps < {limits.min_rps:g} rps")
    own = {f"{r.method} {r.name}": r for r in figures.routes}
    for key, objective in limits.route_p95_ms.items():
        route = own.get(key)
        if route is not None and route.requests >= MIN_FOR_MEDIAN:
            # Few samples: the median bounds the p95 from below (see the shared rule below).
            value, what = (
                (route.p95_ms, "p95")
                if route.requests >= limits.min_samples
                else (route.p50_ms, "median")
            )
            if value > objective:
                problems.append(
                    f"{key}: {what} {value:.0f} ms > its own p95 objective {objective:.0f} ms "
                    f"({route.requests} requests)"
                )
    others = [r for r in figures.routes if f"{r.method} {r.name}" not in limits.route_p95_ms]
    judged = [r for r in others if r.requests >= limits.min_samples]
    # A route with fewer samples has a p95 that is just its slowest request; but when even its
    # median is over the p95 objective, its p95 is too, whatever the sample size.
    few = [r for r in others if MIN_FOR_MEDIAN <= r.requests < limits.min_samples]
    for route in few:
        if route.p50_ms > limits.p95_ms:
            problems.append(
                f"{route.method} {route.name}: median {route.p50_ms:.0f} ms > the p95 objective "
                f"{limits.p95_ms:.0f} ms ({route.requests} requests)"
            )
    for route in judged:
        if route.p95_ms > limits.p95_ms:
            problems.append(
                f"{route.method} {route.name}: p95 {route.p95_ms:.0f} ms > {limits.p95_ms:.0f} ms "
                f"({route.requests} requests)"
            )
        elif limits.p99_ms is not None and route.p99_ms > limits.p99_ms:
            problems.append(
                f"{route.method} {route.name}: p99 {route.p99_ms:.0f} ms > "
                f"{limits.p99_ms:.0f} ms ({route.requests} requests)"
            )
    summary = (
        f"{figures.requests} requests in {figures.duration_s:.0f} s ({figures.rps:.1f} rps), "
        f"p95 {figures.p95_ms:.0f} ms, p99 {figures.p99_ms:.0f} ms, "
        f"errors {figures.error_ratio:.2%}; routes judged on their own: {len(judged)} by p95 "
        f"({limits.min_samples}+ requests), {len(few)} by median, of {len(figures.routes)}"
    )
    return SloVerdict(
        ok=not problems,
        problems=problems,
        judged_routes=len(judged) + len(few) + len(limits.route_p95_ms.keys() & own.keys()),
        routes=len(figures.routes),
        summary=summary,
    )
