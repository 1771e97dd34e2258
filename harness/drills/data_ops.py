"""OPS-01 and OPS-03 as drills over a :class:`DataDrillContext`: the steps, their rollbacks,
and the figures a test judges (rows compared, rows lost, RTO, RPO, wall times).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from harness.drills import data_census
from harness.drills.data_census import Census, TableDiff
from harness.drills.data_context import DataDrillContext
from harness.drills.data_drill import Drill, DrillRecord, StepFailed
from harness.drills.data_scratch import ScratchDatabase
from harness.drills.data_setaside import set_aside_for


class DataOutcome(BaseModel):
    """What a data drill measured; ``diffs`` compare the rows found with the rows after."""

    record: DrillRecord
    before: dict[str, dict[str, int | str]] = Field(default_factory=dict)
    after: dict[str, dict[str, int | str]] = Field(default_factory=dict)
    middle: dict[str, dict[str, int | str]] = Field(default_factory=dict)
    diffs: list[TableDiff] = Field(default_factory=list)
    left_as_found: bool | None = None
    leftover: list[TableDiff] = Field(default_factory=list)
    volatile: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def rows_checked(self) -> int:
        return sum(int(t["rows"]) for t in self.before.values())

    @property
    def rows_lost(self) -> int:
        return sum(len(d.missing) for d in self.diffs)


class _Shared:
    """State the steps of one drill hand each other."""

    def __init__(self) -> None:
        self.before: Census | None = None
        self.compare: list[str] = []


def _stable_census(ctx: DataDrillContext, out: DataOutcome, shared: _Shared) -> str:
    """Two reads of the data: a table that changes on its own cannot be judged, so it is set
    apart (named in the outcome) instead of read as loss."""
    first = ctx.census()
    second = ctx.census()
    out.volatile = [d.table for d in data_census.compare(first, second)]
    shared.before = second
    shared.compare = [t for t in sorted(second.tables) if t not in out.volatile]
    out.before = {n: v for n, v in second.figures().items() if n in shared.compare}
    rows = sum(second.tables[t].rows for t in shared.compare)
    moving = ""
    if out.volatile:
        moving = f"; changing on their own, not compared: {', '.join(out.volatile)}"
    return f"{len(shared.compare)} tables, {rows} rows{moving}"


def _judge_after(ctx: DataDrillContext, out: DataOutcome, shared: _Shared) -> str:
    assert shared.before is not None
    after = ctx.census()
    out.after = {n: v for n, v in after.figures().items() if n in shared.compare}
    out.diffs = data_census.compare(shared.before, after, shared.compare)
    if out.diffs:
        return "rows differ: " + "; ".join(d.describe() for d in out.diffs)
    return f"every row of {len(shared.compare)} tables equal (checksums match)"


def _left_as_found(ctx: DataDrillContext, out: DataOutcome, shared: _Shared) -> str:
    if shared.before is None:
        return "the drill stopped before the first census: nothing to compare"
    now = ctx.census()
    out.leftover = data_census.compare(shared.before, now, shared.compare)
    out.left_as_found = not out.leftover
    if out.leftover:
        raise StepFailed(
            "the database was not left as found: " + "; ".join(d.describe() for d in out.leftover)
        )
    return "the database is as the drill found it"


def _ran(ctx: DataDrillContext, key: str) -> str:
    result = ctx.run(key)
    return f"{' '.join(result.argv)}: exit 0 in {result.elapsed_s:.2f} s"


def _timed(out: DataOutcome, name: str, action: Callable[[], str]) -> str:
    started = time.monotonic()
    try:
        return action()
    finally:
        out.timings[name] = round(time.monotonic() - started, 3)


def migration_round_trip(ctx: DataDrillContext, *, safety_backup: bool) -> DataOutcome:
    """OPS-01: down one release and up again on a populated database; every row must stay.

    With ``safety_backup`` (the profile gives backup and restore) a backup is taken first and
    restored by the rollback if rows were lost, so the database is left as found."""
    out = DataOutcome(record=DrillRecord(name="OPS-01"))
    shared = _Shared()
    took_backup = False

    def backup() -> str:
        nonlocal took_backup
        ctx.run("backup")
        took_backup = True
        return f"safety backup at {ctx.settings.backup_path}"

    def middle() -> str:
        census = ctx.census()
        out.middle = census.figures()
        gone = [t for t in shared.compare if t not in census.tables]
        return f"{len(census.tables)} tables, {census.rows} rows one release down" + (
            f"; not in the older schema: {', '.join(gone)}" if gone else ""
        )

    def restore_if_lost() -> str:
        if shared.before is None or not took_backup:
            return "no safety backup to restore"
        now = ctx.census()
        if not data_census.compare(shared.before, now, shared.compare):
            return "no row lost: nothing to restore"
        ctx.run("restore")
        if ctx.restart_app is not None:
            ctx.restart_app()
        return "rows were lost: the safety backup restored"

    drill = Drill("OPS-01 migrations up, down one release, up again")
    drill.steady("app ready", lambda: f"ready in {ctx.wait_ready():.2f} s")
    drill.steady("row census at head", lambda: _stable_census(ctx, out, shared))
    if safety_backup:
        drill.steady("safety backup", backup)
    drill.then(
        "downgrade one release", lambda: _timed(out, "downgrade_s", lambda: _ran(ctx, "downgrade"))
    )
    drill.then("row census one release down", middle)
    drill.then("upgrade to head", lambda: _timed(out, "upgrade_s", lambda: _ran(ctx, "migrate")))
    drill.then("row census at head again", lambda: _judge_after(ctx, out, shared))
    drill.rollback("schema at head", lambda: _ran(ctx, "migrate"))
    drill.rollback("restore the safety backup if rows were lost", restore_if_lost)
    drill.steady_after("app ready", lambda: f"ready in {ctx.wait_ready():.2f} s")
    drill.steady_after("database as found", lambda: _left_as_found(ctx, out, shared))
    out.record = drill.run()
    return out


def backup_restore(ctx: DataDrillContext) -> DataOutcome:
    """OPS-03: back up, destroy, restore; every row must come back. The destroy sets the live
    data aside, so the rollback can put it back whatever the backup lost.

    Timings: ``rto_s`` from the start of the restore to the app ready again, ``rpo_s`` from
    the start of the backup (the newest data it can hold) to the destroy (writes between
    the two are the window a restore loses)."""
    out = DataOutcome(record=DrillRecord(name="OPS-03"))
    shared = _Shared()
    aside = set_aside_for(ctx.database_url)
    marks: dict[str, float] = {}
    restored_ok = False

    def backup() -> str:
        marks["backup"] = time.monotonic()
        result = ctx.run("backup")
        out.timings["backup_s"] = round(result.elapsed_s, 3)
        return f"backup written to {ctx.settings.backup_path} in {result.elapsed_s:.2f} s"

    def destroy() -> str:
        detail = aside.destroy()
        marks["destroy"] = time.monotonic()
        out.timings["rpo_s"] = round(marks["destroy"] - marks["backup"], 3)
        census = ctx.census()
        if census.rows:  # positive control: the drill must see the data gone
            raise StepFailed(f"after the destroy the database still holds {census.rows} rows")
        return detail + "; the database now holds no rows"

    def restore() -> str:
        started = time.monotonic()
        result = ctx.run("restore")
        out.timings["restore_s"] = round(result.elapsed_s, 3)
        if ctx.restart_app is not None:
            ctx.restart_app()
        ctx.wait_ready()
        out.timings["rto_s"] = round(time.monotonic() - started, 3)
        return f"restored and the app ready in {out.timings['rto_s']:.2f} s"

    def judge() -> str:
        nonlocal restored_ok
        detail = _judge_after(ctx, out, shared)
        restored_ok = not out.diffs
        return detail

    def put_back_or_keep() -> str:
        if not aside.destroyed:
            return "nothing was set aside"
        if restored_ok:
            return aside.discard()
        detail = aside.put_back()
        if ctx.restart_app is not None:
            ctx.restart_app()
        return detail

    drill = Drill("OPS-03 back up, destroy, restore")
    drill.steady("app ready", lambda: f"ready in {ctx.wait_ready():.2f} s")
    drill.steady("row census before the backup", lambda: _stable_census(ctx, out, shared))
    drill.then("back up", backup)
    drill.then("destroy the live data", destroy)
    drill.then("restore, app ready", restore)
    drill.then("row census after the restore", judge)
    drill.rollback(
        "keep the restored data if complete, else put the original back", put_back_or_keep
    )
    drill.steady_after("app ready", lambda: f"ready in {ctx.wait_ready():.2f} s")
    drill.steady_after("database as found", lambda: _left_as_found(ctx, out, shared))
    out.record = drill.run()
    return out


def sqlite_to_postgres(ctx: DataDrillContext) -> DataOutcome:
    """OPS-07: the live rows exported to SQLite by the app, migrated by its tool into an empty
    PostgreSQL database beside the live one; every live row must arrive, checksums equal.

    The export and the migration are both the app's; the harness compares their end points
    (the live database and the migrated one), so a row lost on the way fails either way."""
    out = DataOutcome(record=DrillRecord(name="OPS-07"))
    shared = _Shared()
    scratch = ScratchDatabase(ctx.database_url)

    def export() -> str:
        result = ctx.run("sqlite_export")
        out.timings["export_s"] = round(result.elapsed_s, 3)
        return f"live data written to {ctx.settings.sqlite_path} in {result.elapsed_s:.2f} s"

    def migrate() -> str:
        result = ctx.run("sqlite_migrate", database=scratch.name)
        out.timings["migrate_s"] = round(result.elapsed_s, 3)
        return f"migrated into {scratch.name} in {result.elapsed_s:.2f} s"

    def judge() -> str:
        assert shared.before is not None
        migrated = data_census.take(scratch.url, exclude=ctx.settings.ignore_tables)
        out.after = {n: v for n, v in migrated.figures().items() if n in shared.compare}
        out.diffs = data_census.compare(shared.before, migrated, shared.compare)
        if out.diffs:
            return "rows differ: " + "; ".join(d.describe() for d in out.diffs)
        return f"every row of {len(shared.compare)} tables arrived (checksums match)"

    drill = Drill("OPS-07 SQLite to PostgreSQL")
    drill.steady("app ready", lambda: f"ready in {ctx.wait_ready():.2f} s")
    drill.steady("row census of the live database", lambda: _stable_census(ctx, out, shared))
    drill.then("export the live data to SQLite", export)
    drill.then("create an empty PostgreSQL database", scratch.create)
    drill.then("migrate SQLite to PostgreSQL", migrate)
    drill.then("row census of the migrated database", judge)
    drill.rollback("drop the scratch database", scratch.drop)
    drill.steady_after("app ready", lambda: f"ready in {ctx.wait_ready():.2f} s")
    drill.steady_after("database as found", lambda: _left_as_found(ctx, out, shared))
    out.record = drill.run()
    return out
