"""Find known secrets (tokens, keys) in text, database rows and Redis values, in any common
encoding: raw, base64 (standard/URL-safe, with/without padding, at any byte alignment, so a
token inside a base64-encoded JSON blob is still found), hex and percent-encoding.

The scanner knows the secrets it looks for (the mock provider tells us every token it
issued), so a hit is a fact, not a heuristic. Hits never carry the secret itself: only its
label, the encoding and where it was found, with the match masked in the excerpt.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel

MIN_SECRET_LENGTH = 8
# base64 of a short secret is too short to be told apart from noise.
MIN_VARIANT_LENGTH = 8
ROW_LIMIT = 200_000
REDIS_ITEM_LIMIT = 100_000

Store = Literal["text", "database", "redis"]


class SecretHit(BaseModel):
    """One occurrence of a known secret."""

    label: str
    encoding: str
    store: Store
    location: str
    table: str | None = None
    column: str | None = None
    row: str | None = None
    key: str | None = None
    excerpt: str = ""

    def describe(self) -> str:
        return f"{self.label} ({self.encoding}) in {self.location}"


@dataclass(frozen=True)
class _Variant:
    label: str
    encoding: str
    needle: str
    case_insensitive: bool = False


def _b64_variants(data: bytes) -> Iterator[tuple[str, str]]:
    """base64 fragments of ``data`` that appear whatever bytes surround it.

    Encoding depends on the offset modulo 3, so compute the three alignments and keep only the
    characters determined by ``data`` alone.
    """
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode().rstrip("=")
        start = {0: 0, 1: 2, 2: 3}[shift]
        end = (8 * (shift + len(data))) // 6
        fragment = encoded[start:end]
        if len(fragment) >= MIN_VARIANT_LENGTH:
            yield f"base64@{shift}", fragment
            yield f"base64url@{shift}", fragment.replace("+", "-").replace("/", "_")
    # Whole-value encodings with padding (what most code writes).
    padded = base64.b64encode(data).decode()
    yield "base64-padded", padded
    yield "base64url-padded", base64.urlsafe_b64encode(data).decode()


def _decoded(secret: str) -> bytes | None:
    """The bytes a base64url-shaped token stands for (an app may store those instead)."""
    try:
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) >= 16 else None


class SecretScanner:
    """``SecretScanner({"alice access token": "...", ...})`` or ``SecretScanner([...])``."""

    def __init__(self, secrets: Mapping[str, str] | Iterable[str]) -> None:
        items = (
            secrets.items()
            if isinstance(secrets, Mapping)
            else ((f"secret#{index}", value) for index, value in enumerate(secrets))
        )
        self.secrets: dict[str, str] = {}
        self.skipped: list[str] = []
        for label, value in items:
            if not value or len(value) < MIN_SECRET_LENGTH:
                self.skipped.append(label)
                continue
            self.secrets[label] = value
        self.variants = list(self._build_variants())

    def _build_variants(self) -> Iterator[_Variant]:
        for label, secret in self.secrets.items():
            raw = secret.encode()
            found: list[tuple[str, str, bool]] = [
                ("raw", secret, False),
                ("percent-encoded", quote(secret, safe=""), False),
                ("hex", raw.hex(), True),
                *((encoding, needle, False) for encoding, needle in _b64_variants(raw)),
            ]
            decoded = _decoded(secret)
            if decoded is not None:
                found.append(("decoded-bytes-hex", decoded.hex(), True))
                found.append(("decoded-bytes-base64", base64.b64encode(decoded).decode(), False))
            seen: set[str] = set()
            for encoding, needle, ci in found:
                if needle and needle not in seen:
                    seen.add(needle)
                    yield _Variant(label, encoding, needle.lower() if ci else needle, ci)

    def __bool__(self) -> bool:
        return bool(self.secrets)

    # -- text ------------------------------------------------------------------------------
    def scan_text(
        self, text: str, location: str = "text", *, store: Store = "text", **where: str | None
    ) -> list[SecretHit]:
        """Every known secret in ``text`` (first hit per secret and encoding)."""
        hits: list[SecretHit] = []
        if not text:
            return hits
        candidates = [text]
        if "%" in text:
            candidates.append(unquote(text))
        lowered = [c.lower() for c in candidates]
        for variant in self.variants:
            for haystack, lower in zip(candidates, lowered, strict=True):
                index = (lower if variant.case_insensitive else haystack).find(variant.needle)
                if index >= 0:
                    hits.append(
                        SecretHit(
                            label=variant.label,
                            encoding=variant.encoding,
                            store=store,
                            location=location,
                            excerpt=_mask(haystack, index, len(variant.needle)),
                            **where,
                        )
                    )
                    break
        return _first_per_label(hits)

    def scan_bytes(self, data: bytes, location: str = "bytes", **kwargs: Any) -> list[SecretHit]:
        # Binary values: look at them as text and as their hex (bytea) form.
        hits = self.scan_text(data.decode("utf-8", errors="replace"), location, **kwargs)
        return hits or self.scan_text(data.hex(), location, **kwargs)

    # -- datastores ------------------------------------------------------------------------
    def scan_database(self, url: str) -> list[SecretHit]:
        """Every row of every user table (PostgreSQL or SQLite URL)."""
        scheme = urlsplit(url).scheme.split("+")[0]
        if scheme == "sqlite":
            return self._scan_sqlite(url)
        if scheme in ("postgresql", "postgres"):
            return self._scan_postgres(url)
        raise ValueError(f"unsupported database URL scheme {scheme!r}")

    def _scan_postgres(self, url: str) -> list[SecretHit]:
        import psycopg
        from psycopg import sql

        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1).replace(
            "postgresql+psycopg2://", "postgresql://", 1
        )
        hits: list[SecretHit] = []
        with psycopg.connect(dsn, connect_timeout=10, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '30s'")
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
                "('pg_catalog', 'information_schema') ORDER BY 1, 2"
            ).fetchall()
            for schema, table in tables:
                query = sql.SQL("SELECT ctid::text, row_to_json(t)::text FROM {}.{} t LIMIT {}")
                rows = conn.execute(
                    query.format(
                        sql.Identifier(schema), sql.Identifier(table), sql.Literal(ROW_LIMIT)
                    )
                )
                for ctid, row_json in rows:
                    hits.extend(
                        self._scan_row(f"{schema}.{table}", str(ctid), json.loads(row_json))
                    )
        return hits

    def _scan_sqlite(self, url: str) -> list[SecretHit]:
        path = url.split(":///", 1)[1] if ":///" in url else url.split("://", 1)[1]
        hits: list[SecretHit] = []
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            conn.row_factory = sqlite3.Row
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master"
                    " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                cursor = conn.execute(
                    f"SELECT rowid AS _rowid_, * FROM {quoted} LIMIT ?",  # noqa: S608 - quoted identifier
                    (ROW_LIMIT,),
                )
                for row in cursor:
                    values = dict(row)
                    rowid = str(values.pop("_rowid_", "?"))
                    hits.extend(self._scan_row(table, rowid, values))
        finally:
            conn.close()
        return hits

    def _scan_row(self, table: str, row: str, values: Mapping[str, Any]) -> list[SecretHit]:
        hits: list[SecretHit] = []
        for column, value in values.items():
            if value is None or isinstance(value, bool | int | float):
                continue
            location = f"database {table}.{column} (row {row})"
            where = {"table": table, "column": column, "row": row}
            if isinstance(value, bytes | memoryview):
                hits.extend(self.scan_bytes(bytes(value), location, store="database", **where))
            else:
                text = value if isinstance(value, str) else json.dumps(value)
                hits.extend(self.scan_text(text, location, store="database", **where))
        return hits

    def scan_redis(self, url: str, *, all_databases: bool = True) -> list[SecretHit]:
        """Every key name and value of every type, in every logical database with keys."""
        import redis

        hits: list[SecretHit] = []
        first = redis.Redis.from_url(url, socket_timeout=10)
        try:
            databases = [int(first.connection_pool.connection_kwargs.get("db", 0))]
            if all_databases:
                keyspace = first.info("keyspace")
                databases += [int(name[2:]) for name in keyspace if name.startswith("db")]
        finally:
            first.close()
        for db in sorted(set(databases)):
            # The URL's path names a database and wins over a db= argument: rewrite it.
            parts = urlsplit(url)
            client = redis.Redis.from_url(parts._replace(path=f"/{db}").geturl(), socket_timeout=10)
            try:
                hits.extend(self._scan_redis_db(client, db))
            finally:
                client.close()
        return hits

    def _scan_redis_db(self, client: Any, db: int) -> list[SecretHit]:
        hits: list[SecretHit] = []
        for count, key in enumerate(client.scan_iter(count=1000)):
            if count >= REDIS_ITEM_LIMIT:
                break
            name = key.decode("utf-8", errors="replace")
            location = f"redis db{db} key {name!r}"
            hits.extend(self.scan_bytes(key, location + " (key name)", store="redis", key=name))
            for part, value in _redis_values(client, key):
                hits.extend(self.scan_bytes(value, f"{location}{part}", store="redis", key=name))
        return hits


def _redis_values(client: Any, key: bytes) -> Iterator[tuple[str, bytes]]:
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else str(kind)
    if kind == "string":
        value = client.get(key)
        if value is not None:
            yield "", value
    elif kind == "hash":
        for field, value in client.hscan_iter(key, count=1000):
            yield f" field {field.decode('utf-8', 'replace')!r}", field + b"\n" + value
    elif kind == "list":
        for index, value in enumerate(client.lrange(key, 0, REDIS_ITEM_LIMIT)):
            yield f" [{index}]", value
    elif kind == "set":
        for value in client.sscan_iter(key, count=1000):
            yield " (member)", value
    elif kind == "zset":
        for value, _score in client.zscan_iter(key, count=1000):
            yield " (member)", value
    elif kind == "stream":
        for entry_id, fields in client.xrange(key, count=REDIS_ITEM_LIMIT):
            body = b"\n".join(k + b"=" + v for k, v in fields.items())
            yield f" entry {entry_id.decode()}", body


def _mask(text: str, index: int, length: int, context: int = 24) -> str:
    start = max(0, index - context)
    end = min(len(text), index + length + context)
    return (text[start:index] + "[SECRET]" + text[index + length : end]).replace("\n", " ")


def _first_per_label(hits: list[SecretHit]) -> list[SecretHit]:
    # One hit per secret per location is enough evidence; more only floods the report.
    seen: set[str] = set()
    kept = []
    for hit in hits:
        if hit.label not in seen:
            seen.add(hit.label)
            kept.append(hit)
    return kept
