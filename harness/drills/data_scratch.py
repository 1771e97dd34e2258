"""A scratch PostgreSQL database beside the target's, for a drill that must not write into
the live one (the SQLite -> PostgreSQL migration): created empty, dropped by the rollback."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

from harness.drills.data_census import CensusError, libpq


class ScratchDatabase:
    def __init__(self, url: str) -> None:
        if not url.startswith(("postgres://", "postgresql://", "postgresql+")):
            raise CensusError("a scratch database needs PostgreSQL")
        self.dsn = libpq(url)
        self.name = f"harness_drill_{secrets.token_hex(4)}"
        self.created = False

    @property
    def url(self) -> str:
        parts = urlsplit(self.dsn)
        return urlunsplit(parts._replace(path="/" + self.name))

    def _admin(self, statement: str) -> None:
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.dsn, connect_timeout=10, autocommit=True) as conn:
                conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))
        except psycopg.Error as exc:
            raise CensusError(f"{type(exc).__name__}: {exc}") from exc

    def create(self) -> str:
        self._admin("CREATE DATABASE {}")
        self.created = True
        return f"empty database {self.name} created"

    def drop(self) -> str:
        if not self.created:
            return "no scratch database was created"
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.created = False
        return f"scratch database {self.name} dropped"
