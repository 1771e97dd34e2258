"""OPS-01, OPS-03, OPS-07: data drills over the profile's lifecycle commands ([resilience]).

Each drill checks the steady state (the app ready, a row census of a populated database),
runs its method, always runs its rollbacks (the database is left as found) and checks the
steady state again. Disruptive: the schema and the data change under every other test.
"""

from __future__ import annotations

import pytest

from harness.drills.data_census import CensusError
from harness.drills.data_context import DataDrillContext, require_commands
from harness.drills.data_ops import (
    DataOutcome,
    backup_restore,
    migration_round_trip,
    sqlite_to_postgres,
)
from harness.drills.data_setaside import set_aside_for
from harness.evidence import Evidence
from harness.verdicts import NotApplicable
from suites.resilience.data_fixtures import data_drill

__all__ = ["data_drill"]

pytestmark = pytest.mark.stack


def _record(evidence: Evidence, ctx: DataDrillContext, out: DataOutcome, note: str) -> None:
    evidence.text("drill timeline", f"{note}\n{out.record.timeline()}\n")
    evidence.json(
        "row census",
        {
            "before": out.before,
            "one_release_down": out.middle or None,
            "after": out.after,
            "differences": [d.model_dump() for d in out.diffs],
            "changing_on_their_own": out.volatile,
            "left_as_found": out.left_as_found,
            "timings_s": out.timings,
        },
    )
    if ctx.transcripts:
        evidence.text("commands", "\n\n".join(ctx.transcripts))
    evidence.figure("drill wall time", out.record.wall_s, "s")
    evidence.figure("rows compared", out.rows_checked, "rows")
    evidence.figure("tables compared", len(out.before), "tables")
    evidence.figure("rows lost", out.rows_lost, "rows")
    for name, value in out.timings.items():
        evidence.figure(
            name.removesuffix("_s").replace("_", " ").upper()
            if name in ("rto_s", "rpo_s")
            else name.removesuffix("_s"),
            value,
            "s",
        )


def _judge_steps(out: DataOutcome) -> None:
    """The harness's own failures are errors; the target's failing step fails the control."""
    errors = out.record.errors()
    if errors:
        raise RuntimeError(f"drill step {errors[0].name!r} went wrong: {errors[0].detail}")
    failed = out.record.method_failure()
    assert failed is None, f"drill step {failed.name!r} failed: {failed.detail}"


def _judge_left(out: DataOutcome) -> None:
    broken = out.record.rollback_failures()
    assert not broken, f"rollback {broken[0].name!r} failed: {broken[0].detail}"
    assert out.left_as_found is not False, "the database was not left as found: " + "; ".join(
        d.describe() for d in out.leftover
    )


@pytest.mark.disruptive
@pytest.mark.control("OPS-01")
def test_migrations_down_and_up_keep_every_row(data_drill: DataDrillContext, evidence: Evidence):
    ctx = data_drill
    require_commands(ctx.settings, "migrate", "downgrade")
    _, note = ctx.populated()
    safety = bool(ctx.settings.backup and ctx.settings.restore)
    out = migration_round_trip(ctx, safety_backup=safety)
    _record(evidence, ctx, out, note + ("" if safety else "; no safety backup (no commands)"))
    _judge_steps(out)
    assert not out.diffs, (
        f"down one release and up again lost or changed rows (of {out.rows_checked} in "
        f"{len(out.before)} tables): " + "; ".join(d.describe() for d in out.diffs)
    )
    _judge_left(out)


@pytest.mark.disruptive
@pytest.mark.control("OPS-03")
def test_backup_destroy_restore_keeps_every_row(data_drill: DataDrillContext, evidence: Evidence):
    ctx = data_drill
    require_commands(ctx.settings, "backup", "restore")
    try:
        set_aside_for(ctx.database_url)
    except CensusError as exc:
        raise NotApplicable(f"the drill cannot destroy this database reversibly: {exc}") from exc
    _, note = ctx.populated()
    out = backup_restore(ctx)
    _record(evidence, ctx, out, note)
    _judge_steps(out)
    assert not out.diffs, (
        f"the restore did not bring back every row (of {out.rows_checked} in "
        f"{len(out.before)} tables): " + "; ".join(d.describe() for d in out.diffs)
    )
    objectives = ctx.settings
    rto, rpo = out.timings.get("rto_s"), out.timings.get("rpo_s")
    assert rto is not None and rto <= objectives.rto_s, (
        f"restore took {rto} s to the app ready, over the RTO of {objectives.rto_s} s"
    )
    assert rpo is not None and rpo <= objectives.rpo_s, (
        f"{rpo} s of writes between the backup and the loss would be gone, over the RPO of "
        f"{objectives.rpo_s} s"
    )
    _judge_left(out)


@pytest.mark.disruptive
@pytest.mark.control("OPS-07")
def test_sqlite_to_postgres_migration_keeps_every_row(
    data_drill: DataDrillContext, evidence: Evidence
):
    ctx = data_drill
    require_commands(ctx.settings, "sqlite_export", "sqlite_migrate")
    if not ctx.database_url.startswith(("postgres://", "postgresql://", "postgresql+")):
        raise NotApplicable("the target's database is not PostgreSQL: nothing to migrate into")
    _, note = ctx.populated()
    out = sqlite_to_postgres(ctx)
    _record(evidence, ctx, out, note)
    _judge_steps(out)
    assert not out.diffs, (
        f"the SQLite -> PostgreSQL migration did not carry every row (of {out.rows_checked} in "
        f"{len(out.before)} tables): " + "; ".join(d.describe() for d in out.diffs)
    )
    _judge_left(out)
