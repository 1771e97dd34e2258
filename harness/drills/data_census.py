"""Row census of a database: per table, the row count and an order-independent checksum.

Two censuses of the same data are equal whatever engine holds it (PostgreSQL or SQLite): each
value is put in one canonical form first (booleans as 0/1, timestamps in UTC, numbers without
engine-specific types), rows are digested one by one and keyed by their primary key, so a
difference names the rows that went missing, appeared or changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROW_LIMIT = 500_000
SQLITE_STAMP_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


class CensusError(Exception):
    """The database could not be read (unreachable, unsupported URL, too large)."""


class TableCensus(BaseModel):
    """One table: how many rows, their checksum, and each row's digest by key."""

    name: str
    rows: int
    checksum: str
    digests: dict[str, str]


class Census(BaseModel):
    tables: dict[str, TableCensus]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def figures(self) -> dict[str, dict[str, int | str]]:
        """Counts and checksums per table, for evidence (without the per-row digests)."""
        return {n: {"rows": t.rows, "checksum": t.checksum} for n, t in self.tables.items()}


class TableDiff(BaseModel):
    table: str
    missing: list[str]
    added: list[str]
    changed: list[str]
    rows_before: int
    rows_after: int

    def describe(self, limit: int = 5) -> str:
        parts = []
        for label, keys in (
            ("missing", self.missing),
            ("new", self.added),
            ("changed", self.changed),
        ):
            if keys:
                shown = ", ".join(keys[:limit]) + (" ..." if len(keys) > limit else "")
                parts.append(f"{len(keys)} {label} ({shown})")
        return f"{self.table}: " + "; ".join(parts)


def compare(before: Census, after: Census, tables: list[str] | None = None) -> list[TableDiff]:
    """Tables whose rows differ; ``tables`` limits the comparison (default: the first's)."""
    diffs: list[TableDiff] = []
    for name in tables if tables is not None else sorted(before.tables):
        old = before.tables.get(name)
        new = after.tables.get(name)
        old_rows = old.digests if old else {}
        new_rows = new.digests if new else {}
        if old and new and old.checksum == new.checksum:
            continue
        missing = sorted(set(old_rows) - set(new_rows), key=_natural)
        added = sorted(set(new_rows) - set(old_rows), key=_natural)
        changed = sorted(
            (k for k in set(old_rows) & set(new_rows) if old_rows[k] != new_rows[k]), key=_natural
        )
        if missing or added or changed or (old is None) != (new is None):
            diffs.append(
                TableDiff(
                    table=name,
                    missing=missing,
                    added=added,
                    changed=changed,
                    rows_before=len(old_rows),
                    rows_after=len(new_rows),
                )
            )
    return diffs


def _natural(key: str) -> tuple[int, str]:
    return (int(key), "") if key.lstrip("-").isdigit() else (0, key)


def canonical(value: Any, declared: str = "") -> str:
    """One text form per value, equal across engines for equal data."""
    kind = declared.lower()
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) and "bool" in kind:
        return str(int(bool(value)))
    if isinstance(value, str) and ("date" in kind or "time" in kind):
        value = _parse_stamp(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def _parse_stamp(text: str) -> datetime | str:
    candidate = text.replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        pass
    for pattern in SQLITE_STAMP_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return text


def _table_census(
    name: str, columns: list[tuple[str, str]], keys: list[str], rows: Iterator[tuple[Any, ...]]
) -> TableCensus:
    # By name, not position: a column added by a later migration may sit anywhere.
    order = sorted(range(len(columns)), key=lambda i: columns[i][0])
    names = [c for c, _ in columns]
    key_at = [names.index(k) for k in keys] if keys else []
    digests: dict[str, str] = {}
    for count, row in enumerate(rows):
        if count >= ROW_LIMIT:
            raise CensusError(f"table {name} has more than {ROW_LIMIT} rows")
        canon = [canonical(v, declared) for v, (_, declared) in zip(row, columns, strict=True)]
        named = [f"{names[i]}={canon[i]}" for i in order]
        digest = hashlib.sha256("\x1f".join(named).encode()).hexdigest()[:24]
        key = "/".join(canon[i] for i in key_at) if key_at else digest
        while key in digests:  # a table without a key may hold the same row twice
            key += "+"
        digests[key] = digest
    total = hashlib.sha256()
    for key in sorted(digests):
        total.update(f"{key}={digests[key]}\n".encode())
    return TableCensus(
        name=name, rows=len(digests), checksum=total.hexdigest()[:32], digests=digests
    )


def take(url: str, *, exclude: list[str] | None = None, schema: str | None = None) -> Census:
    """Census of every table of the database at ``url`` (PostgreSQL or SQLite)."""
    skip = set(exclude or [])
    if url.startswith("sqlite"):
        return _sqlite(url, skip)
    if url.startswith(("postgres://", "postgresql://", "postgresql+")):
        return _postgres(url, skip, schema)
    raise CensusError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def libpq(url: str) -> str:
    """A SQLAlchemy-style PostgreSQL URL as libpq takes it."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite(url: str, skip: set[str]) -> Census:
    path = url.split(":///", 1)[1] if ":///" in url else url.split(":", 1)[1]
    if not Path(path).exists():  # a destroyed (moved-away) database holds nothing
        return Census(tables={})
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise CensusError(f"cannot open {path}: {exc}") from exc
    tables: dict[str, TableCensus] = {}
    with contextlib.closing(conn):
        try:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            for name in names:
                if name in skip:
                    continue
                info = list(conn.execute(f"PRAGMA table_info({_quoted(name)})"))
                columns = [(r[1], r[2] or "") for r in info]
                keys = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
                select = ", ".join(_quoted(c) for c, _ in columns)
                # Names come from the database's own catalogue and are quoted: no input here.
                rows = conn.execute(f"SELECT {select} FROM {_quoted(name)}")  # noqa: S608
                tables[name] = _table_census(name, columns, keys, iter(rows))
        except sqlite3.Error as exc:
            raise CensusError(f"cannot read {path}: {exc}") from exc
    return Census(tables=tables)


def _postgres(url: str, skip: set[str], schema: str | None) -> Census:
    import psycopg  # local import: only the data drills need a database driver
    from psycopg import sql

    tables: dict[str, TableCensus] = {}
    try:
        with psycopg.connect(libpq(url), connect_timeout=10, autocommit=True) as conn:
            space = schema or conn.execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name",
                    (space,),
                )
            ]
            for name in names:
                if name in skip:
                    continue
                columns = [
                    (r[0], r[1])
                    for r in conn.execute(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                        (space, name),
                    )
                ]
                keys = [
                    r[0]
                    for r in conn.execute(
                        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
                        (f"{_quoted(space)}.{_quoted(name)}",),
                    )
                ]
                query = sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns),
                    sql.Identifier(space, name),
                )
                rows = conn.execute(query)
                tables[name] = _table_census(name, columns, keys, iter(rows))
    except psycopg.Error as exc:
        raise CensusError(f"cannot read the database: {exc}") from exc
    return Census(tables=tables)
