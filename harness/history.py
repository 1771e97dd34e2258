"""The run history: one SQLite file in the reports folder that every run appends to.

The pipeline records each run as it publishes it (a re-publish replaces the run's rows, so
``harness gate`` or ``harness report`` never count a run twice) and reads back the last runs of
the same profile and fault set for the report's trends: each control's verdict over those runs,
and the series of every figure (drills, load, benchmarks) and of the efficacy matrix.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from harness.results import Results

HISTORY_NAME = "history.sqlite"
TREND_RUNS = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, start TEXT NOT NULL, profile TEXT, target TEXT, release TEXT,
    faults TEXT NOT NULL, gate_passed INTEGER
);
CREATE TABLE IF NOT EXISTS verdicts (
    run_id TEXT NOT NULL, control TEXT NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (run_id, control)
);
CREATE TABLE IF NOT EXISTS figures (
    run_id TEXT NOT NULL, control TEXT NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL,
    value REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS efficacy (
    run_id TEXT PRIMARY KEY, caught INTEGER NOT NULL, total INTEGER NOT NULL,
    false_alarms INTEGER NOT NULL
);
"""


class HistoryError(Exception):
    """The history file cannot be read or written; one line."""


class Series(BaseModel):
    """One figure over the runs: ``values`` aligned with ``Trends.runs`` (None: not measured)."""

    control: str
    name: str
    unit: str
    values: list[float | None]


class Trends(BaseModel):
    """The last runs (oldest first, the current one last) and what they measured."""

    runs: list[str] = Field(default_factory=list)
    starts: list[str] = Field(default_factory=list)
    verdicts: dict[str, list[str | None]] = Field(
        default_factory=dict, description="control id -> status per run (None: not reported)"
    )
    figures: list[Series] = Field(default_factory=list)
    efficacy: list[float | None] = Field(
        default_factory=list, description="share of faults caught per run (None: no matrix)"
    )


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        connection = sqlite3.connect(path, timeout=30)
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: cannot open the run history: {exc}") from None
    try:
        with connection:
            connection.executescript(_SCHEMA)
            yield connection
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: run history: {exc}") from None
    finally:
        connection.close()


def _faults(results: Results) -> str:
    return json.dumps(sorted(results.run.faults))


def record(path: Path, results: Results) -> None:
    """Append (or replace) the run's rows."""
    run = results.run
    gate = None if results.gate is None else int(results.gate.passed)
    with _connect(path) as db:
        for table in ("runs", "verdicts", "figures", "efficacy"):
            db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run.id,))  # noqa: S608
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run.id, run.start, run.profile, run.target, run.release, _faults(results), gate),
        )
        statuses = results.gate.statuses if results.gate else {}
        db.executemany(
            "INSERT INTO verdicts VALUES (?, ?, ?)",
            [(run.id, c.id, statuses.get(c.id, c.status).value) for c in results.controls],
        )
        db.executemany(
            "INSERT INTO figures VALUES (?, ?, ?, ?, ?)",
            [(run.id, f.control or "", f.name, f.unit, f.value) for f in results.figures],
        )
        if results.efficacy is not None:
            s = results.efficacy.summary
            db.execute(
                "INSERT INTO efficacy VALUES (?, ?, ?, ?)",
                (run.id, s.caught, s.total, s.false_alarms),
            )


def trends(path: Path, results: Results, limit: int = TREND_RUNS) -> Trends:
    """The last ``limit`` runs up to this one with the same profile and fault set."""
    run = results.run
    with _connect(path) as db:
        rows = db.execute(
            "SELECT run_id, start FROM runs WHERE profile IS ? AND faults = ? AND start <= ? "
            "ORDER BY start DESC, run_id DESC LIMIT ?",
            (run.profile, _faults(results), run.start, limit),
        ).fetchall()
        rows.reverse()
        ids = [r[0] for r in rows]
        index = {run_id: i for i, run_id in enumerate(ids)}
        marks = ",".join("?" * len(ids))
        verdicts: dict[str, list[str | None]] = {}
        for run_id, control, status in db.execute(
            f"SELECT run_id, control, status FROM verdicts WHERE run_id IN ({marks})",  # noqa: S608
            ids,
        ):
            verdicts.setdefault(control, [None] * len(ids))[index[run_id]] = status
        series: dict[tuple[str, str, str], list[float | None]] = {}
        for run_id, control, name, unit, value in db.execute(
            "SELECT run_id, control, name, unit, value FROM figures "  # noqa: S608
            f"WHERE run_id IN ({marks}) ORDER BY control, name",
            ids,
        ):
            series.setdefault((control, name, unit), [None] * len(ids))[index[run_id]] = value
        efficacy: list[float | None] = [None] * len(ids)
        for run_id, caught, total in db.execute(
            f"SELECT run_id, caught, total FROM efficacy WHERE run_id IN ({marks})",  # noqa: S608
            ids,
        ):
            efficacy[index[run_id]] = caught / total if total else None
    return Trends(
        runs=ids,
        starts=[r[1] for r in rows],
        verdicts=verdicts,
        figures=[Series(control=c, name=n, unit=u, values=v) for (c, n, u), v in series.items()],
        efficacy=efficacy,
    )
