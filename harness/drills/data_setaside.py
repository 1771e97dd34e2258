"""The backup drill's "destroy", made reversible: the live schema is renamed away (the app
sees an empty database) and put back if the restore does not bring every row back, so the
drill leaves the database as it found it whatever the backup lost.

PostgreSQL only: a rename moves tables, sequences and constraints at once, in one statement.
"""

from __future__ import annotations

import secrets

from harness.drills.data_census import CensusError, libpq

LOCK_TIMEOUT = "15s"  # an app transaction left open must not hang the drill


class SetAside:
    """``destroy()`` renames the schema away; ``put_back()`` or ``discard()`` ends it."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("postgres://", "postgresql://", "postgresql+")):
            raise CensusError("setting the data aside needs PostgreSQL")
        self.dsn = libpq(url)
        self.schema = ""
        self.parked = f"harness_drill_{secrets.token_hex(4)}"
        self.destroyed = False

    def _execute(self, *statements: str) -> None:
        import psycopg

        try:
            with psycopg.connect(self.dsn, connect_timeout=10) as conn:
                conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                if not self.schema:
                    row = conn.execute("SELECT current_schema()").fetchone()
                    self.schema = str(row[0]) if row else "public"
                for statement in statements:
                    conn.execute(statement.format(schema=self.schema, parked=self.parked))
                conn.commit()
        except psycopg.Error as exc:
            raise CensusError(f"{type(exc).__name__}: {exc}") from exc

    def destroy(self) -> str:
        self._execute('ALTER SCHEMA "{schema}" RENAME TO "{parked}"', 'CREATE SCHEMA "{schema}"')
        self.destroyed = True
        return f"schema {self.schema} renamed to {self.parked}; an empty {self.schema} in its place"

    def put_back(self) -> str:
        if not self.destroyed:
            return "nothing was destroyed"
        self._execute(
            'DROP SCHEMA "{schema}" CASCADE', 'ALTER SCHEMA "{parked}" RENAME TO "{schema}"'
        )
        self.destroyed = False
        return f"the original data is back in {self.schema} (the restored copy dropped)"

    def discard(self) -> str:
        if not self.destroyed:
            return "nothing was destroyed"
        self._execute('DROP SCHEMA "{parked}" CASCADE')
        self.destroyed = False
        return f"the restored data stays; the set-aside copy {self.parked} dropped"


class FileSetAside:
    """The same for a SQLite database this machine can reach: the file is moved aside."""

    def __init__(self, url: str) -> None:
        from pathlib import Path

        if not url.startswith("sqlite"):
            raise CensusError("moving the database file aside needs SQLite")
        self.path = Path(url.split(":///", 1)[1] if ":///" in url else url.split(":", 1)[1])
        if not self.path.is_file():
            raise CensusError(f"the SQLite file {self.path} is not on this machine")
        self.parked = self.path.with_name(self.path.name + f".harness-drill-{secrets.token_hex(4)}")
        self.destroyed = False

    def destroy(self) -> str:
        self.path.rename(self.parked)
        self.destroyed = True
        return f"{self.path.name} moved to {self.parked.name}"

    def put_back(self) -> str:
        if not self.destroyed:
            return "nothing was destroyed"
        self.parked.replace(self.path)
        self.destroyed = False
        return f"the original {self.path.name} is back (the restored copy replaced)"

    def discard(self) -> str:
        if not self.destroyed:
            return "nothing was destroyed"
        self.parked.unlink()
        self.destroyed = False
        return f"the restored {self.path.name} stays; the set-aside copy removed"


def set_aside_for(url: str) -> SetAside | FileSetAside:
    """The reversible destroy this database allows; CensusError when there is none."""
    if url.startswith("sqlite"):
        return FileSetAside(url)
    return SetAside(url)
