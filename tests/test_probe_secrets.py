"""SecretScanner: encodings, masking, SQLite rows and (when redis-server exists) Redis values."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from harness.probes.secrets import SecretScanner

TOKEN = "Zq3vT0kLx9_mP2aB7cD-eF1gH4iJ5kL6mN8oP0qR2sU"


@pytest.fixture
def scanner() -> SecretScanner:
    return SecretScanner({"access": TOKEN, "short": "abc"})


def test_short_secrets_are_skipped(scanner: SecretScanner) -> None:
    assert scanner.skipped == ["short"]
    assert scanner.scan_text("abc abc") == []


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (f'{{"token": "{TOKEN}"}}', "raw"),
        (TOKEN.encode().hex().upper(), "hex"),
        (quote("x=" + TOKEN + "/", safe=""), "raw"),
        (base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="), "base64@0"),
    ],
)
def test_encodings_found(scanner: SecretScanner, text: str, encoding: str) -> None:
    hits = scanner.scan_text(text, "body")
    assert [h.encoding for h in hits] == [encoding]
    assert TOKEN not in hits[0].excerpt and "[SECRET]" in hits[0].excerpt


@pytest.mark.parametrize("prefix", ["", "a", "ab", "abc"])
def test_base64_inside_a_larger_blob_at_any_alignment(scanner: SecretScanner, prefix: str) -> None:
    blob = json.dumps({"user": prefix, "tok": TOKEN}).encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        hits = scanner.scan_text(encode(blob).decode(), "redis")
        assert hits and hits[0].encoding.startswith("base64"), (prefix, encode)


def test_decoded_token_bytes_in_hex(scanner: SecretScanner) -> None:
    raw = base64.urlsafe_b64decode(TOKEN + "=" * (-len(TOKEN) % 4))
    hits = scanner.scan_bytes(b"\\x" + raw.hex().encode(), "bytea")
    assert hits and hits[0].encoding == "decoded-bytes-hex"


def test_unrelated_text_has_no_hits(scanner: SecretScanner) -> None:
    other = "gAAAAABmZ" + base64.b64encode(b"encrypted-looking bytes " * 4).decode()
    assert scanner.scan_text(other) == []


def test_sqlite_rows(tmp_path: Path, scanner: SecretScanner) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE provider_tokens (user_id INTEGER, access_token TEXT, blob BLOB)")
    conn.execute("INSERT INTO provider_tokens VALUES (1, 'enc:xyz', NULL)")
    conn.execute("INSERT INTO provider_tokens VALUES (2, ?, NULL)", (TOKEN,))
    conn.commit()
    conn.close()
    hits = scanner.scan_database(f"sqlite:///{path}")
    assert len(hits) == 1
    assert (hits[0].table, hits[0].column, hits[0].row) == ("provider_tokens", "access_token", "2")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_all_types(redis_url: str, scanner: SecretScanner) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.set("clean", "nothing here")
    client.hset("h", mapping={"a": "1", "tok": base64.b64encode(TOKEN.encode())})
    client.rpush("l", "x", TOKEN.encode().hex())
    client.sadd("s", "member-" + TOKEN)
    client.zadd("z", {"m": 1})
    client.xadd("st", {"f": TOKEN})
    client.select(3)
    client.set("other-db", TOKEN)
    hits = scanner.scan_redis(redis_url)
    client.close()
    keys = sorted({h.key or "" for h in hits})
    assert keys == ["h", "l", "other-db", "s", "st"], [h.describe() for h in hits]
