"""What one load run measured: totals, each route's figures, and the history over time.

Built inside Locust from its stats (:func:`harness.load.hooks`) and written as JSON, so the
harness reads figures without importing Locust; the history comes from Locust's own
``_stats_history.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pydantic import BaseModel, Field


class RouteFigures(BaseModel):
    name: str = Field(description="Locust's request name (method and path template)")
    method: str
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class LoadFigures(BaseModel):
    duration_s: float
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    routes: list[RouteFigures] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="distinct failure messages")
    common_p95_ms: float | None = Field(
        default=None, description="p95 over the routes without an objective of their own"
    )
    common_p99_ms: float | None = Field(
        default=None, description="p99 over the routes without an objective of their own"
    )

    @property
    def overall_p95_ms(self) -> float:
        return self.p95_ms if self.common_p95_ms is None else self.common_p95_ms

    @property
    def overall_p99_ms(self) -> float:
        return self.p99_ms if self.common_p99_ms is None else self.common_p99_ms

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


class HistoryPoint(BaseModel):
    """One row of Locust's history: aggregated over every route at one moment."""

    t_s: float
    users: int
    rps: float
    failures_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


def _number(value: str | None) -> float | None:
    if value in (None, "", "N/A"):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def read_history(path: Path) -> list[HistoryPoint]:
    """The aggregated rows of ``<prefix>_stats_history.csv`` (missing file: no points)."""
    if not path.is_file():
        return []
    points: list[HistoryPoint] = []
    start: float | None = None
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated":
                continue
            stamp = _number(row.get("Timestamp"))
            if stamp is None:
                continue
            start = stamp if start is None else start
            points.append(
                HistoryPoint(
                    t_s=stamp - start,
                    users=int(_number(row.get("User Count")) or 0),
                    rps=_number(row.get("Requests/s")) or 0.0,
                    failures_per_s=_number(row.get("Failures/s")) or 0.0,
                    p50_ms=_number(row.get("50%")),
                    p95_ms=_number(row.get("95%")),
                    p99_ms=_number(row.get("99%")),
                )
            )
    return points
