"""An offline advisory mirror: a folder of OSV records served on loopback as OSV's query API.

pip-audit asks OSV's ``POST /v1/query`` for each pinned package (``--osv-url``). Where no
public advisory source is reachable (air-gapped CI, this project's machines), the profile's
``supply_chain.advisories`` names a folder of OSV-format records (one JSON document each, as
``osv.dev`` publishes them) and this server answers the same queries from it, on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

QUERY_PATH = "/v1/query"


class AdvisoryError(Exception):
    """The mirror folder cannot be used (missing, or a record that is not OSV JSON)."""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def load_records(folder: Path) -> list[dict[str, Any]]:
    """Every ``*.json`` OSV record under ``folder``."""
    if not folder.is_dir():
        raise AdvisoryError(f"the advisory mirror {folder} is not a folder")
    records: list[dict[str, Any]] = []
    for path in sorted(folder.rglob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AdvisoryError(f"{path}: not a JSON document: {exc}") from None
        if not isinstance(record, dict) or "id" not in record or "affected" not in record:
            raise AdvisoryError(f"{path}: not an OSV record (needs `id` and `affected`)")
        records.append(record)
    return records


def affects(record: dict[str, Any], name: str, version: str) -> bool:
    """Whether an OSV record lists ``name`` (PyPI) at ``version``: an explicit version, or an
    ECOSYSTEM range (introduced / fixed / last_affected events)."""
    try:
        wanted = Version(version)
    except InvalidVersion:
        return False
    for affected in record.get("affected", []):
        package = affected.get("package", {})
        if package.get("ecosystem") != "PyPI" or canonical(package.get("name", "")) != name:
            continue
        if version in affected.get("versions", []):
            return True
        for span in affected.get("ranges", []):
            if span.get("type") == "ECOSYSTEM" and _in_range(span.get("events", []), wanted):
                return True
    return False


def _in_range(events: list[dict[str, str]], version: Version) -> bool:
    inside = False
    for event in sorted(events, key=_event_order):
        if "introduced" in event:
            start = event["introduced"]
            if start == "0" or version >= Version(start):
                inside = True
        elif ("fixed" in event and version >= Version(event["fixed"])) or (
            "last_affected" in event and version > Version(event["last_affected"])
        ):
            inside = False
    return inside


def _event_order(event: dict[str, str]) -> Version:
    value = next(iter(event.values()), "0")
    return Version("0") if value == "0" else Version(value)


class _Handler(BaseHTTPRequestHandler):
    records: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        if self.path != QUERY_PATH:
            self.send_error(404)
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            query = json.loads(self.rfile.read(length))
            name = canonical(str(query["package"]["name"]))
            version = str(query["version"])
        except (ValueError, KeyError, TypeError):
            self.send_error(400)
            return
        vulns = [r for r in self.records if affects(r, name, version)]
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # quiet: the scan's evidence says what was asked


@contextmanager
def serve_mirror(folder: Path) -> Iterator[tuple[str, int, int]]:
    """(host, port, record count) of a loopback OSV query API over ``folder``."""
    records = load_records(folder)
    handler = type("MirrorHandler", (_Handler,), {"records": records})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1], len(records)
    finally:
        server.shutdown()
        server.server_close()
