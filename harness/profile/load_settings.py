"""The ``[load]`` table: how the Locust load run is shaped and what PERF-03/04 read during it.

The latency and error objectives themselves are the ``[slo]`` table's; this table says how
much load to send (users, spawn rate, duration, worker processes), how fast a target the
harness did not start may be driven, and where the pool and cache figures come from.
"""

from __future__ import annotations

from pydantic import Field

from harness.profile.base import Strict


class LoadSettings(Strict):
    """Shape of the load run (`harness load`, the PERF controls, `locust -f load/`)."""

    users: int = Field(default=10, ge=1, description="concurrent simulated users")
    spawn_rate: float = Field(default=10.0, gt=0, description="users started per second")
    duration_s: float = Field(default=12.0, gt=0, description="length of one load run")
    workers: int = Field(
        default=2,
        ge=0,
        description="Locust worker processes on this machine (0: one process, no master/worker)",
    )
    wait_min_s: float = Field(default=0.2, ge=0, description="think time between tasks, low end")
    wait_max_s: float = Field(default=1.0, ge=0, description="think time between tasks, high end")
    browse_weight: int = Field(default=3, ge=0, description="share of read-heavy browsing users")
    api_weight: int = Field(
        default=2, ge=0, description="share of logged-in users calling the API's read operations"
    )
    login_weight: int = Field(default=1, ge=0, description="share of users that only log in")
    read_paths: list[str] = Field(
        default_factory=list,
        description="extra paths the browsing users read (besides target.pages, static paths "
        "and the OpenAPI document's parameterless GET operations)",
    )
    min_samples: int = Field(
        default=20,
        ge=1,
        description="requests a route needs before its own percentiles are judged",
    )
    safe_max_rps: float = Field(
        default=5.0,
        gt=0,
        description="safety = 'safe' (targets the harness did not start): the cap on requests "
        "per second over all users",
    )
    db_max_connections: int | None = Field(
        default=None,
        description="PERF-03: most server-side database connections the app may hold at once "
        "(absent: PERF-03 is not_applicable)",
    )
    db_max_new_connections: int | None = Field(
        default=None,
        description="PERF-03: most new database connections the app may open during one run "
        "(absent: twice db_max_connections); a pool reuses, a pool-less app opens one per "
        "request",
    )
    db_user: str | None = Field(
        default=None,
        description="PERF-03: count only connections of this database role (absent: every "
        "client backend of the database)",
    )
    cache_hit_metric: str | None = Field(
        default=None,
        description="PERF-04: the Prometheus counter of cache hits in /metrics, e.g. "
        "'cache_hits_total' (absent: PERF-04 is not_applicable)",
    )
    cache_miss_metric: str | None = Field(
        default=None, description="PERF-04: the Prometheus counter of cache misses"
    )
    cache_min_hit_ratio: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="PERF-04: least hits / (hits + misses) during the run",
    )
