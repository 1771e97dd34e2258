"""Unit tests for harness.probes.injection: findings on a vulnerable fake, none on the
length-sensitive app that fools naive boolean scanners (scanner-pitfalls.md)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

from harness.operations import Operation, Param, Point
from harness.probes.bounded import Fetched
from harness.probes.injection import SqliProbe

OP = Operation(
    method="GET",
    path="/api/tracks",
    params=[Param(name="q", location="query", schema={"type": "string"})],
)
POINT = Point(op=OP, location="query", name="q", schema={"type": "string"})


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (title TEXT)")
    db.executemany("INSERT INTO t VALUES (?)", [("alpha",), ("beta",)])
    return db


def _answer(status: int, body: Any, delay: float = 0.0) -> Fetched:
    return Fetched(
        method="GET",
        url="/api/tracks",
        status=status,
        headers={},
        body=json.dumps(body),
        elapsed_s=delay,
    )


def vulnerable(db: sqlite3.Connection):
    def send(method: str, path: str, **kwargs: Any) -> Fetched:
        q = kwargs["params"]["q"]
        try:
            rows = db.execute(f"SELECT title FROM t WHERE title LIKE '%{q}%'").fetchall()  # noqa: S608
        except sqlite3.Error:
            return _answer(500, {"error": "internal"})
        return _answer(200, [r[0] for r in rows])

    return send


def parameterised(db: sqlite3.Connection):
    def send(method: str, path: str, **kwargs: Any) -> Fetched:
        q = kwargs["params"]["q"]
        rows = db.execute("SELECT title FROM t WHERE title LIKE ?", (f"%{q}%",)).fetchall()
        return _answer(200, [r[0] for r in rows])

    return send


def length_sensitive(method: str, path: str, **kwargs: Any) -> Fetched:
    """Safe app whose message depends on the input's length (the pitfall)."""
    q = kwargs["params"]["q"]
    return _answer(200, {"results": [], "hint": "short" if len(q) < 20 else "long"})


def time_vulnerable(method: str, path: str, **kwargs: Any) -> Fetched:
    q = kwargs["params"]["q"]
    match = re.search(r"pg_sleep\(([\d.]+)\)", q)
    delay = float(match.group(1)) if match else 0.01
    return _answer(200, [], delay=delay)


def test_error_based_injection_is_found_with_controls():
    result = SqliProbe(vulnerable(_db()), {}).run(POINT)
    assert result.finding is not None
    assert result.finding.rule == "probe:sqli-error"
    labels = [a.label for a in result.attempts]
    assert "length-matched benign" in labels and "balanced quotes" in labels


def test_parameterised_query_has_no_finding():
    assert SqliProbe(parameterised(_db()), {}).run(POINT).finding is None


def test_length_dependent_answers_are_not_mistaken_for_boolean_injection():
    assert SqliProbe(length_sensitive, {}).run(POINT).finding is None


def test_time_based_injection_needs_two_slow_answers_and_a_fast_control():
    probe = SqliProbe(time_vulnerable, {}, sleep_s=0.3)
    started = time.monotonic()
    result = probe.run(POINT)
    assert result.finding is not None and result.finding.rule == "probe:sqli-time"
    assert time.monotonic() - started < 5


def test_boolean_injection_is_found_when_errors_are_hidden():
    db = _db()

    def send(method: str, path: str, **kwargs: Any) -> Fetched:
        q = kwargs["params"]["q"]
        try:
            rows = db.execute(f"SELECT title FROM t WHERE title LIKE '%{q}%'").fetchall()  # noqa: S608
        except sqlite3.Error:
            rows = []  # the app swallows the error: only the boolean signal remains
        return _answer(200, [r[0] for r in rows])

    result = SqliProbe(send, {}).run(POINT)
    assert result.finding is not None and result.finding.rule == "probe:sqli-boolean"
