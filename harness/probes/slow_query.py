"""Slow queries: make one real query of the target exceed its threshold, then find its record.

How a query is made slow without touching the target's code or configuration: the harness
opens its own connection to the target's PostgreSQL and holds an ACCESS EXCLUSIVE lock on the
application's tables for longer than the threshold while the target serves one database-backed
request. The target's query waits on the lock, so its execution really takes that long, which
is exactly what a slow-query log must report (lock waits are the commonest slow query in
production). The lock is released after ``hold_s`` whatever happens.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, Field

from harness import logs


class LockError(Exception):
    """The tables could not be locked (no tables, no permission, a lock timeout)."""


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` (SQLAlchemy style) -> ``postgresql://...`` for psycopg."""
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)


@contextmanager
def tables_locked(dsn: str, hold_s: float, lock_timeout_s: float = 3.0) -> Iterator[list[str]]:
    """Lock every table of the application's schemas; yields once the lock is held.

    A timer thread rolls the transaction back ``hold_s`` after the lock was taken, so a
    request sent inside the block (which waits on the lock) can finish; leaving the block
    waits for that release at the latest.
    """
    import psycopg  # local import: only this control needs a database driver

    try:
        conn = psycopg.connect(libpq_url(dsn), connect_timeout=5, autocommit=False)
    except psycopg.Error as exc:
        raise LockError(f"cannot connect to the database: {exc}") from exc
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                "AND schemaname NOT LIKE 'pg_toast%%'"
            )
            tables = [str(row[0]) for row in cur.fetchall()]
            if not tables:
                raise LockError("the database has no application tables to lock")
            cur.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
            try:
                cur.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
            except psycopg.Error as exc:
                raise LockError(f"could not lock the tables: {exc}") from exc
        timer = threading.Timer(hold_s, conn.rollback)
        timer.daemon = True
        timer.start()
        try:
            yield tables
        finally:
            timer.join(hold_s + 5)
            if timer.is_alive():  # pragma: no cover - the rollback itself hung
                timer.cancel()
    finally:
        conn.close()


class SlowQueryRecord(BaseModel):
    index: int
    line: str
    record: dict[str, Any] | None = None
    duration_ms: float | None = None
    carries_request_id: bool = False


class SlowQueryVerdict(BaseModel):
    pattern: str
    matches: list[SlowQueryRecord] = Field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.matches)


_PATH_KEYS = ("path", "route", "url", "uri", "target")
_DURATION_KEYS = ("duration_ms", "elapsed_ms", "query_ms", "time_ms", "duration", "elapsed")


def find_slow_records(
    lines: Sequence[str],
    pattern: str,
    request_id: str | None = None,
    parser: logs.LogParser = logs.JSON_LINES,
) -> SlowQueryVerdict:
    """Log lines whose text matches ``pattern`` (case-insensitive), structured or not; the
    access record of the slowed request itself is not a slow-query record, so lines that only
    match through a URL path are skipped."""
    regex = re.compile(pattern, re.IGNORECASE)
    verdict = SlowQueryVerdict(pattern=pattern)
    for index, line in enumerate(lines):
        record = parser.parse(line)
        if record is not None:
            text = " ".join(
                str(record.get(key, "")) for key in ("message", "msg", "event", "event_type")
            )
            # An access record's message may quote the URL ("GET /api/slow-things 200").
            for key in _PATH_KEYS:
                value = record.get(key)
                if isinstance(value, str) and value:
                    text = text.replace(value, " ")
        else:
            text = line
        if not regex.search(text):
            continue
        duration = None
        if record is not None:
            for key in _DURATION_KEYS:
                value = record.get(key)
                if isinstance(value, int | float):
                    duration = float(value)
                    break
        verdict.matches.append(
            SlowQueryRecord(
                index=index,
                line=line[:2000],
                record=record,
                duration_ms=duration,
                carries_request_id=bool(request_id and request_id in line),
            )
        )
    return verdict
