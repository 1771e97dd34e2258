"""harness.probes.slow_query: finding slow-query records (the lock needs a database)."""

from __future__ import annotations

import json

from harness.probes import slow_query
from harness.profile import ObservabilitySettings

PATTERN = ObservabilitySettings().slow_query_pattern


def test_libpq_url() -> None:
    assert slow_query.libpq_url("postgresql+psycopg://u@h:1/db") == "postgresql://u@h:1/db"
    assert slow_query.libpq_url("postgres://u@h/db") == "postgres://u@h/db"


def test_find_structured_and_plain_records() -> None:
    lines = [
        json.dumps({"message": "GET /api/slow-query 200", "path": "/api/slow-query"}),
        json.dumps({"message": "slow query", "event": "slow_query", "duration_ms": 512.3,
                    "correlation_id": "rid-1"}),
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
