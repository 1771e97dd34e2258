"""The data drills (OPS-01, OPS-03) against a small in-process target: a SQLite database and
lifecycle "commands" that are Python functions, one set correct and one seeded with each loss.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.drills import data_census
from harness.drills.data_commands import CommandResult, fill
from harness.drills.data_context import DataDrillContext, external_allowed, require_commands
from harness.drills.data_drill import Drill, StepFailed
from harness.drills.data_ops import backup_restore, migration_round_trip
from harness.profile import Profile
from harness.profile.resilience_section import ResilienceSettings
from harness.verdicts import NotApplicable, NotEvaluated

SCHEMA = """
CREATE TABLE playlists (id INTEGER PRIMARY KEY, name VARCHAR(50), created_at DATETIME,
                        shared BOOLEAN, tags TEXT);
CREATE TABLE tracks (id INTEGER PRIMARY KEY, playlist_id INTEGER, title TEXT);
CREATE TABLE schema_version (rev TEXT);
INSERT INTO schema_version VALUES ('2');
"""


def _make(path: Path, playlists: int = 10) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        for n in range(playlists):
            db.execute(
                "INSERT INTO playlists VALUES (?, ?, ?, ?, ?)",
                (n + 1, f"p{n}", "2026-01-02 03:04:05.000006", n % 2, f"tag{n}"),
            )
            db.executemany(
                "INSERT INTO tracks (playlist_id, title) VALUES (?, ?)",
                [(n + 1, f"t{n}-{k}") for k in range(5)],
            )


class FakeApp:
    """The target's lifecycle commands as functions over its SQLite file."""

    def __init__(
        self, path: Path, *, lossy_downgrade: bool = False, backup_incomplete: bool = False
    ) -> None:
        self.path = path
        self.where = "in-process"
        self.lossy_downgrade = lossy_downgrade
        self.backup_incomplete = backup_incomplete
        self.calls: list[str] = []

    def run(self, argv: list[str]) -> CommandResult:
        self.calls.append(argv[0])
        action: Callable[..., None] = getattr(self, "_" + argv[0])
        action(*argv[1:])
        return CommandResult(argv=argv, returncode=0, output="", elapsed_s=0.0)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def _downgrade(self) -> None:
        with self._db() as db:
            if self.lossy_downgrade:
                db.execute("DELETE FROM tracks WHERE id > 40")
            else:
                db.execute("CREATE TABLE tags_archive AS SELECT id, tags FROM playlists")
            db.execute("ALTER TABLE playlists DROP COLUMN tags")
            db.execute("UPDATE schema_version SET rev = '1'")

    def _migrate(self) -> None:
        with self._db() as db:
            if db.execute("SELECT rev FROM schema_version").fetchone()[0] == "2":
                return
            db.execute("ALTER TABLE playlists ADD COLUMN tags TEXT")
            if db.execute("SELECT name FROM sqlite_master WHERE name = 'tags_archive'").fetchone():
                db.execute(
                    "UPDATE playlists SET tags = (SELECT a.tags FROM tags_archive a "
                    "WHERE a.id = playlists.id)"
                )
                db.execute("DROP TABLE tags_archive")
            db.execute("UPDATE schema_version SET rev = '2'")

    def _backup(self, target: str) -> None:
        shutil.copyfile(self.path, self.path.parent / target)
        if self.backup_incomplete:
            with sqlite3.connect(self.path.parent / target) as db:
                db.execute("DELETE FROM tracks")

    def _restore(self, source: str) -> None:
        shutil.copyfile(self.path.parent / source, self.path)

    def _populate(self) -> None:
        _make(self.path)


def _context(app: FakeApp, **settings: object) -> DataDrillContext:
    values: dict[str, object] = dict(
        migrate=["migrate"],
        downgrade=["downgrade"],
        backup=["backup", "{path}"],
        restore=["restore", "{path}"],
        backup_path="drill.backup",
        min_rows=20,
    )
    values.update(settings)
    return DataDrillContext(
        settings=ResilienceSettings.model_validate(values),
        runner=app,
        database_url=f"sqlite:///{app.path}",
        ready=lambda: True,
        restart_app=None,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    _make(path)
    return path


# -- the census ----------------------------------------------------------------------------------
def test_canonical_values_agree_across_engines():
    stamp = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert data_census.canonical(stamp) == data_census.canonical(
        "2026-01-02 03:04:05.000006", "DATETIME"
    )
    assert data_census.canonical(True) == data_census.canonical(1, "BOOLEAN") == "1"
    assert data_census.canonical(2.0) == data_census.canonical(2) == "2"
    assert data_census.canonical(None) == "null"


def test_census_names_missing_and_changed_rows(database: Path):
    url = f"sqlite:///{database}"
    before = data_census.take(url)
    assert before.tables["tracks"].rows == 50 and before.rows == 61
    assert data_census.compare(before, data_census.take(url)) == []  # positive control
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM tracks WHERE id IN (3, 4)")
        db.execute("UPDATE playlists SET name = 'x' WHERE id = 7")
    diffs = {d.table: d for d in data_census.compare(before, data_census.take(url))}
    assert diffs["tracks"].missing == ["3", "4"]
    assert diffs["playlists"].changed == ["7"]
    assert "2 missing (3, 4)" in diffs["tracks"].describe()


def test_census_ignores_column_order(tmp_path: Path):
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    with sqlite3.connect(one) as db:
        db.executescript(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
            "INSERT INTO t VALUES (1, 'x', 'y');"
        )
    with sqlite3.connect(two) as db:
        db.executescript(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, a TEXT);"
            "INSERT INTO t VALUES (1, 'y', 'x');"
        )
    first, second = data_census.take(f"sqlite:///{one}"), data_census.take(f"sqlite:///{two}")
    assert first.tables["t"].checksum == second.tables["t"].checksum


# -- the drill shape -------------------------------------------------------------------------------
def test_rollbacks_always_run_and_harness_errors_are_marked():
    ran: list[str] = []

    def fails() -> str:
        raise StepFailed("exit 1")

    def breaks() -> str:
        raise KeyError("bug")

    drill = (
        Drill("t")
        .steady("ok", lambda: "fine")
        .then("fails", fails)
        .then("never", lambda: ran.append("never") or "")
        .rollback("first", breaks)
        .rollback("second", lambda: ran.append("second") or "done")
        .steady_after("again", lambda: "fine")
    )
    record = drill.run()
    assert ran == ["second"]
    assert record.method_failure() is not None and record.method_failure().name == "fails"
    assert [s.name for s in record.errors()] == ["first"]
    assert [s.phase for s in record.steps] == [
        "steady-before",
        "method",
        "rollback",
        "rollback",
        "steady-after",
    ]
    assert "FAIL" in record.timeline()


def test_commands_come_from_the_profile_only():
    with pytest.raises(NotApplicable, match="resilience.backup or resilience.restore"):
        require_commands(ResilienceSettings(), "backup", "restore")
    assert fill(["backup", "{path}"], path="x.dump") == ["backup", "x.dump"]


def test_external_targets_need_the_profiles_permission_and_a_database():
    base = {"provider": "external", "target": {"base_url": "https://127.0.0.1:8443"}}
    with pytest.raises(NotApplicable, match="data_drills_on_external = false"):
        external_allowed(Profile.model_validate(base))
    allowed = {**base, "resilience": {"data_drills_on_external": True}}
    with pytest.raises(NotApplicable, match="datastores.database_url"):
        external_allowed(Profile.model_validate(allowed))
    external_allowed(
        Profile.model_validate({**allowed, "datastores": {"database_url": "postgresql://db/x"}})
    )
    external_allowed(Profile.model_validate({"provider": "local"}))  # a stack it started


def test_too_few_rows_without_populate_is_not_evaluated(tmp_path: Path):
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(NotEvaluated, match="no resilience.populate"):
        _context(FakeApp(path)).populated()
    census, note = _context(FakeApp(path), populate=["populate"]).populated()
    assert census.rows == 61 and "populated: 0 -> 61" in note


# -- OPS-01 ----------------------------------------------------------------------------------------
def test_migration_round_trip_passes_on_a_lossless_downgrade(database: Path):
    app = FakeApp(database)
    out = migration_round_trip(_context(app), safety_backup=True)
    assert out.record.errors() == [] and out.record.method_failure() is None
    assert out.diffs == [] and out.left_as_found is True
    assert out.rows_checked == 61 and out.middle["playlists"]["rows"] == 10
    assert "restore" not in app.calls


def test_migration_round_trip_catches_a_lossy_downgrade_and_restores(database: Path):
    app = FakeApp(database, lossy_downgrade=True)
    out = migration_round_trip(_context(app), safety_backup=True)
    assert out.rows_lost == 10 and [d.table for d in out.diffs] == ["playlists", "tracks"]
    assert out.diffs[0].changed == [str(n) for n in range(1, 11)]  # their tags are gone
    assert "restore" in app.calls and out.left_as_found is True


def test_migration_round_trip_without_a_safety_backup_says_what_it_left(database: Path):
    out = migration_round_trip(
        _context(FakeApp(database, lossy_downgrade=True)), safety_backup=False
    )
    assert out.rows_lost == 10 and out.left_as_found is False
    assert out.record.steps[-1].ok is False and "not left as found" in out.record.steps[-1].detail


# -- OPS-03 ----------------------------------------------------------------------------------------
def test_backup_restore_passes_with_figures(database: Path):
    out = backup_restore(_context(FakeApp(database)))
    assert out.record.errors() == [] and out.record.method_failure() is None
    assert out.diffs == [] and out.left_as_found is True
    assert {"rto_s", "rpo_s", "backup_s", "restore_s"} <= set(out.timings)
    assert not list(database.parent.glob("*.harness-drill-*"))  # the set-aside copy is gone


def test_backup_restore_catches_an_incomplete_backup_and_puts_the_data_back(database: Path):
    out = backup_restore(_context(FakeApp(database, backup_incomplete=True)))
    assert [d.table for d in out.diffs] == ["tracks"] and out.rows_lost == 50
    assert out.left_as_found is True
    assert data_census.take(f"sqlite:///{database}").tables["tracks"].rows == 50
