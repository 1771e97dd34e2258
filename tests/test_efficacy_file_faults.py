"""File variants in the efficacy matrix: a fault in ``source``/``deploy`` files is switched on
through the stack (which records it, restarting nothing) and measured; a fault in a service the
stack does not run stays pending."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

from harness.catalog import parse_catalog
from harness.efficacy import run_efficacy
from harness.efficacy_model import RegisteredFault
from harness.runner import ControlRun
from harness.stack.base import Stack

CATALOG = """
[[control]]
id = "SC-01"
title = "t"
claim = "c"
method = "m"
area = "supply_chain"
severity = "high"
faults = ["sast_issue", "queue_fault"]
"""


class _Stack:
    name = "fake"
    services = ["app"]

    def __init__(self) -> None:
        self.faults: list[str] = []

    def apply_faults(self, faults: list[str]) -> None:
        self.faults = list(faults)


class _Runner:
    """SC-01 fails exactly while the file fault is recorded on the stack."""

    def __init__(self, stack: _Stack) -> None:
        self.stack = stack

    def __call__(self, *, out: Path, controls: Sequence[str] | None, workers: int) -> ControlRun:
        status = "fail" if "sast_issue" in self.stack.faults else "pass"
        return ControlRun(statuses={"SC-01": status})


def test_a_file_variant_is_measured_and_a_missing_service_is_pending(tmp_path: Path) -> None:
    stack = _Stack()
    faults = [
        RegisteredFault(name="sast_issue", controls=["SC-01"], services=["source"]),
        RegisteredFault(name="queue_fault", controls=["SC-01"], services=["queue"]),
    ]
    report = run_efficacy(
        cast(Stack, stack),
        _Runner(stack),
        catalog=parse_catalog(CATALOG, "test"),
        faults=faults,
        profile="fake",
        out=tmp_path,
        workers=1,
        echo=lambda _line: None,
    )
    outcome = {f.name: f for f in report.faults}
    assert outcome["sast_issue"].status == "caught"
    assert outcome["queue_fault"].status == "pending"
    assert outcome["queue_fault"].reason == "lives in queue: not a running service of this stack"
    assert stack.faults == []  # left clean
