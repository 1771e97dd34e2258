"""PERF-03's figures: the app's server-side database connections while the load runs.

A sampler thread reads ``pg_stat_activity`` every quarter second (client backends of the app's
database, not its own) for the peak held at once, and ``pg_stat_database.sessions`` before and
after for the number of connections opened during the run (PostgreSQL 14 and later; exact,
where sampling misses connections that live a few milliseconds). A pooled app holds a steady
few and opens none or a few; an app without a pool opens one per request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic import BaseModel, Field

from harness.probes.slow_query import libpq_url

INTERVAL_S = 0.25

ACTIVE = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
    "AND (%(user)s::text IS NULL OR usename = %(user)s::text)"
)
SESSIONS = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"


class DbFigures(BaseModel):
    samples: int = 0
    peak: int = 0
    at_start: int = 0
    opened: int | None = Field(
        default=None, description="sessions opened during the run (None: PostgreSQL < 14)"
    )
    series: list[tuple[float, int]] = Field(default_factory=list)
    error: str | None = None


class DbSampler:
    """``with DbSampler(url, user) as sampler: ...``; ``sampler.figures`` afterwards."""

    def __init__(self, url: str, user: str | None = None) -> None:
        self.url = libpq_url(url)
        self.user = user
        self.figures = DbFigures()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._sessions: int | None = None

    def __enter__(self) -> DbSampler:
        import psycopg  # local import: only this control needs a database driver

        try:
            self._conn = psycopg.connect(self.url, connect_timeout=5, autocommit=True)
            self.figures.at_start = self._count()
            self._sessions = self._session_count()
        except psycopg.Error as exc:
            self.figures.error = f"cannot read the database's connections: {exc}".strip()
            return self
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="db-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._conn is None:
            return
        try:
            after = self._session_count()
            if after is not None and self._sessions is not None:
                self.figures.opened = after - self._sessions
        except Exception as exc:  # noqa: BLE001 - a late failure leaves the samples standing
            self.figures.error = f"reading pg_stat_database failed: {exc}"
        finally:
            self._conn.close()

    def _count(self) -> int:
        row = self._conn.execute(ACTIVE, {"user": self.user}).fetchone()
        return int(row[0]) if row else 0

    def _session_count(self) -> int | None:
        import psycopg

        try:
            row = self._conn.execute(SESSIONS).fetchone()
        except psycopg.errors.UndefinedColumn:
            return None
        return int(row[0]) if row and row[0] is not None else None

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            try:
                count = self._count()
            except Exception as exc:  # noqa: BLE001 - the verdict says sampling stopped
                self.figures.error = f"sampling stopped: {exc}"
                return
            self.figures.samples += 1
            self.figures.peak = max(self.figures.peak, count)
            self.figures.series.append((round(time.monotonic() - self._started, 2), count))
