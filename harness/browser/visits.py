"""Page visits shared between pytest processes through the run folder.

A journey may run on one pytest-xdist worker and E2E-02..05 on another, so each journey writes
the visits it recorded to ``<run>/browser-visits/<test>.json`` when it ends (passed or not),
and the browser-side controls read them, waiting a bounded time for journeys still running.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import BaseModel

from harness.browser.observe import PageVisit
from harness.evidence import node_slug

FOLDER = "browser-visits"


class JourneyRecord(BaseModel):
    test: str
    passed: bool
    visits: list[PageVisit]


def path_for(out: Path, nodeid: str) -> Path:
    return out / FOLDER / f"{node_slug(nodeid)}.json"


def write(out: Path, record: JourneyRecord) -> Path:
    target = path_for(out, record.test)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_text(record.model_dump_json(), encoding="utf-8")
    partial.replace(target)  # readers never see half a file
    return target


def wait_for(
    out: Path, nodeids: list[str], timeout_s: float, poll_s: float = 0.5
) -> tuple[list[JourneyRecord], list[str]]:
    """The records of ``nodeids`` (in order) and the ids still missing after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    found: dict[str, JourneyRecord] = {}
    while True:
        for nodeid in nodeids:
            path = path_for(out, nodeid)
            if nodeid not in found and path.is_file():
                found[nodeid] = JourneyRecord.model_validate(json.loads(path.read_text()))
        missing = [n for n in nodeids if n not in found]
        if not missing or time.monotonic() >= deadline:
            return [found[n] for n in nodeids if n in found], missing
        time.sleep(poll_s)
