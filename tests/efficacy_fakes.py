"""A fake stack, a fake pytest runner and a small catalog for the efficacy matrix's tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from harness.catalog import Catalog, parse_catalog
from harness.efficacy import run_efficacy
from harness.efficacy_groups import KnownFault
from harness.efficacy_model import EfficacyReport, RegisteredFault
from harness.runner import ControlRun
from harness.stack.base import Stack, StackError
from harness.stack.faults import FaultInfo

CATALOG = """
[[control]]
id = "SEC-01"
title = "t"
claim = "c"
method = "m"
area = "hardening"
severity = "high"
faults = ["no_csp", "weak_hsts"]

[[control]]
id = "SEC-05"
title = "t"
claim = "c"
method = "m"
area = "hardening"
severity = "high"
faults = ["sqli"]

[[control]]
id = "SEC-14"
title = "t"
claim = "c"
method = "m"
area = "hardening"
severity = "high"
faults = ["sqli"]

[[control]]
id = "OBS-01"
title = "t"
claim = "c"
method = "m"
area = "observability"
severity = "low"
faults = ["crash"]

[[control]]
id = "SC-02"
title = "t"
claim = "c"
method = "m"
area = "supply_chain"
severity = "high"
planned = true
faults = ["vulnerable_dependency"]
"""

# Each fault's effect: the controls that fail while it is on (the rest pass).
EFFECTS: dict[str, set[str]] = {
    "no_csp": {"SEC-01"},
    "weak_hsts": set(),  # a fault the control misses
    "sqli": {"SEC-05", "SEC-14"},
    "crash": {"OBS-01", "SEC-01", "SEC-05"},  # takes other controls down with it
}


def registry(*names: str) -> list[RegisteredFault]:
    mapping = catalog().fault_map()
    services = {"vulnerable_dependency": ["source"]}
    return [
        RegisteredFault(name=n, controls=mapping[n], services=services.get(n, ["app"]))
        for n in names
    ]


def catalog() -> Catalog:
    return parse_catalog(CATALOG, "test")


class FakeStack:
    name = "fake"

    def __init__(self, registry_json: str = "[]", code: int = 0) -> None:
        self.services = ["postgres", "app", "nginx"]
        self.faults: list[str] = []
        self.applied: list[list[str]] = []
        self.registry_json = registry_json
        self.code = code
        self.broken: set[str] = set()

    def apply_faults(self, faults: list[str]) -> None:
        self.applied.append(list(faults))
        if set(faults) & self.broken:
            raise StackError(f"app: not ready with {faults[0]}")
        self.faults = list(faults)

    def fault_registry(self) -> list[FaultInfo]:
        if self.code != 0:
            raise StackError("`registry` failed: boom")
        try:
            return [FaultInfo.model_validate(item) for item in json.loads(self.registry_json)]
        except ValueError as exc:
            raise StackError(f"`registry` printed no fault list: {exc}") from None


def as_stack(fake: FakeStack) -> Stack:
    """What efficacy uses (services, apply_faults, fault_registry), not a whole stack."""
    return cast(Stack, fake)


Script = Callable[[str | None, str, int], str | None]


class FakeRunner:
    """Statuses from EFFECTS, with overrides: script(fault, control, attempt) -> status."""

    def __init__(self, stack: FakeStack, script: Script | None = None) -> None:
        self.stack = stack
        self.script = script
        self.calls: list[tuple[str | None, list[str] | None]] = []
        self.attempts: dict[tuple[str | None, str], int] = {}

    def __call__(self, *, out: Path, controls: Sequence[str] | None, workers: int) -> ControlRun:
        # Several faults on together show as "a+b" to the script and fail the union.
        fault = "+".join(self.stack.faults) or None
        effects = set().union(*(EFFECTS.get(f, set()) for f in self.stack.faults))
        self.calls.append((fault, list(controls) if controls is not None else None))
        wanted = list(controls) if controls is not None else catalog().ids()
        got: dict[str, str] = {}
        for control in wanted:
            if catalog().get(control).planned:
                got[control] = "planned"
                continue
            attempt = self.attempts[fault, control] = self.attempts.get((fault, control), 0) + 1
            scripted = self.script(fault, control, attempt) if self.script else None
            failing = control in effects
            got[control] = scripted or ("fail" if failing else "pass")
        return ControlRun(statuses=got, reasons={}, results=str(out / "results.json"))


def run(
    names: Sequence[str],
    *,
    full: bool = False,
    script: Script | None = None,
    stack: FakeStack | None = None,
    tmp: Path = Path("/nonexistent"),
    controls: Sequence[str] | None = None,
) -> tuple[EfficacyReport, FakeRunner, FakeStack]:
    stack = stack or FakeStack()
    runner = FakeRunner(stack, script)
    lines: list[str] = []
    report = run_efficacy(
        as_stack(stack),
        runner,
        catalog=catalog(),
        faults=registry(*names),
        profile="p",
        out=tmp,
        workers=2,
        full=full,
        controls=controls,
        echo=lines.append,
    )
    return report, runner, stack


def by_name(report: EfficacyReport) -> dict[str, dict[str, object]]:
    return {f.name: f.model_dump() for f in report.faults}


def known(**collateral: list[str]) -> dict[str, KnownFault]:
    return {
        name: KnownFault(name=name, status="caught", collateral=c, collateral_measured=True)
        for name, c in collateral.items()
    }
