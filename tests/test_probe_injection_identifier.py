"""SQL injection in an identifier context (ORDER BY): the random baseline is itself a 5xx."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from harness.operations import Operation, Param, Point
from harness.probes.bounded import Fetched
from harness.probes.injection import SqliProbe, summarise

SORT = {"type": "string", "maxLength": 200, "default": "title"}
OP = Operation(
    method="GET",
    path="/api/tracks",
    params=[Param(name="sort", location="query", schema=SORT)],
)
POINT = Point(op=OP, location="query", name="sort", schema=SORT)


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (title TEXT, artist TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [("alpha", "b"), ("beta", "a")])
    return db


def _answer(status: int, body: Any) -> Fetched:
    return Fetched(
        method="GET", url="/api/tracks", status=status, headers={}, body=json.dumps(body)
    )


def _order_by_app(db: sqlite3.Connection) -> Any:
    def send(method: str, path: str, **kwargs: Any) -> Fetched:
        sort = kwargs["params"]["sort"]
        try:
            rows = db.execute(f"SELECT title FROM t ORDER BY {sort} LIMIT 50").fetchall()  # noqa: S608
        except sqlite3.Error:
            return _answer(500, {"error": {"code": "internal_error"}})
        return _answer(200, [r[0] for r in rows])

    return send


def _allow_list_app(method: str, path: str, **kwargs: Any) -> Fetched:
    # Sloppy but not injectable: unknown keys crash (KeyError -> 500), known ones work.
    columns = {"title": "title", "artist": "artist", "title DESC": "title desc"}
    try:
        return _answer(200, {"order": columns[kwargs["params"]["sort"]]})
    except KeyError:
        return _answer(500, {"error": {"code": "internal_error"}})


def test_order_by_injection_found_with_the_documented_default_as_baseline() -> None:
    result = SqliProbe(_order_by_app(_db()), {}, sleep_s=0.2).run(POINT)
    assert result.attempts[0].status == 500  # the random baseline: all older techniques stop
    assert result.finding is not None and result.technique == "probe:sqli-identifier"
    assert result.signal is not None and "-> HTTP 500, default 'title' -> HTTP 200" in result.signal
    assert "'(title' -> HTTP 500" in (result.finding.evidence or "")
    assert summarise([result])["signals"] == [f"{POINT.label}: {result.signal}"]


def test_an_allow_list_that_crashes_on_unknown_values_is_a_signal_not_a_finding() -> None:
    result = SqliProbe(_allow_list_app, {}, sleep_s=0.2).run(POINT)
    assert result.finding is None
    assert result.signal and result.signal.endswith("default 'title' -> HTTP 200")


def test_no_documented_value_no_identifier_probe() -> None:
    bare = Point(op=OP, location="query", name="sort", schema={"type": "string"})
    result = SqliProbe(_order_by_app(_db()), {}, sleep_s=0.2).run(bare)
    assert result.finding is None and result.signal is None and len(result.attempts) == 1
