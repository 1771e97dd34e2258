"""harness.probes.slow_query: finding slow-query records (the lock needs a database)."""

from __future__ import annotations

import json

import pytest

from harness.probes import slow_query
from harness.profile import ObservabilitySettings

PATTERN = ObservabilitySettings().slow_query_pattern


def test_libpq_url() -> None:
    assert slow_query.libpq_url("postgresql+psycopg://u@h:1/db") == "postgresql://u@h:1/db"
    assert slow_query.libpq_url("postgres://u@h/db") == "postgres://u@h/db"


def test_find_structured_and_plain_records() -> None:
    lines = [
        json.dumps({"message": "GET /api/slow-query 200", "path": "/api/slow-query"}),
        json.dumps(
            {
                "message": "slow query",
                "event": "slow_query",
                "duration_ms": 512.3,
                "correlation_id": "rid-1",
            }
        ),
        "2024 WARNING [db] slow query took 600 ms",
        json.dumps({"message": "fast query"}),
    ]
    verdict = slow_query.find_slow_records(lines, PATTERN, request_id="rid-1")
    assert [m.index for m in verdict.matches] == [1, 2]
    assert verdict.matches[0].duration_ms == 512.3
    assert verdict.matches[0].carries_request_id
    assert not verdict.matches[1].carries_request_id


def test_nothing_found() -> None:
    assert not slow_query.find_slow_records(['{"message": "ok"}'], PATTERN).found


class _FakeCursor:
    def __init__(self, conn: _FakeConn) -> None:
        self.conn = conn

    def __enter__(self) -> _FakeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str) -> None:
        self.conn.statements.append(sql)
        if sql.startswith("LOCK") and self.conn.lock_fails:
            import psycopg

            raise psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")

    def fetchall(self) -> list[tuple[str]]:
        return [(t,) for t in self.conn.tables]


class _FakeConn:
    def __init__(self, tables: list[str], lock_fails: bool = False) -> None:
        self.tables = tables
        self.lock_fails = lock_fails
        self.statements: list[str] = []
        self.rolled_back_at: float | None = None
        self.closed = False

    def cursor(self) -> _FakeCursor:
        return _FakeCursor(self)

    def rollback(self) -> None:
        import time

        self.rolled_back_at = time.monotonic()

    def close(self) -> None:
        self.closed = True


def _patch(monkeypatch: pytest.MonkeyPatch, conn: _FakeConn) -> list[str]:
    import psycopg

    seen: list[str] = []

    def connect(dsn: str, **kwargs: object) -> _FakeConn:
        seen.append(dsn)
        return conn

    monkeypatch.setattr(psycopg, "connect", connect)
    return seen


def test_tables_locked_releases_after_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    conn = _FakeConn(["public.users", "public.playlists"])
    seen = _patch(monkeypatch, conn)
    started = time.monotonic()
    with slow_query.tables_locked("postgresql+psycopg://u@h:1/db", 0.2) as tables:
        assert tables == ["public.users", "public.playlists"]
        assert conn.rolled_back_at is None  # still held inside the block
        assert conn.statements[-1] == (
            "LOCK TABLE public.users, public.playlists IN ACCESS EXCLUSIVE MODE"
        )
    assert seen == ["postgresql://u@h:1/db"]
    assert conn.rolled_back_at is not None and conn.rolled_back_at - started >= 0.19
    assert conn.closed


def test_tables_locked_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = _FakeConn([])
    _patch(monkeypatch, conn)
    with (
        pytest.raises(slow_query.LockError, match="no application tables"),
        slow_query.tables_locked("postgresql://x", 0.1),
    ):
        pass
    assert conn.closed
    conn = _FakeConn(["public.t"], lock_fails=True)
    _patch(monkeypatch, conn)
    with (
        pytest.raises(slow_query.LockError, match="could not lock"),
        slow_query.tables_locked("postgresql://x", 0.1),
    ):
        pass
    assert conn.closed
