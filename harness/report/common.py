"""Helpers every renderer shares: status order, the change list against a previous run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.results import ControlResult, Results
from harness.verdicts import Verdict

STATUS_ORDER = [
    Verdict.FAIL,
    Verdict.ERROR,
    Verdict.NOT_EVALUATED,
    Verdict.WAIVED,
    Verdict.NOT_APPLICABLE,
    Verdict.PLANNED,
    Verdict.PASS,
]
BAD = frozenset({Verdict.FAIL, Verdict.ERROR})
AREA_TITLES = {
    "auth": "Authentication and sessions",
    "hardening": "Security hardening",
    "api": "API",
    "observability": "Observability",
    "performance": "Performance",
    "operations": "Operations and resilience",
    "e2e": "End to end",
    "supply_chain": "Supply chain",
}
# XML 1.0 forbids most control characters; a hostile target can send them in any header.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str | None) -> str:
    return _XML_INVALID.sub("\ufffd", text or "")


def effective_status(results: Results, control: ControlResult) -> Verdict:
    """The status after the gate's waivers, when a gate ran."""
    if results.gate is not None and control.id in results.gate.statuses:
        return results.gate.statuses[control.id]
    return control.status


def counts(results: Results) -> dict[Verdict, int]:
    tally = {status: 0 for status in STATUS_ORDER}
    for control in results.controls:
        tally[effective_status(results, control)] += 1
    return tally


def by_area(results: Results) -> list[tuple[str, dict[Verdict, int]]]:
    areas: dict[str, dict[Verdict, int]] = {}
    for control in results.controls:
        tally = areas.setdefault(control.area, {status: 0 for status in STATUS_ORDER})
        tally[effective_status(results, control)] += 1
    return list(areas.items())


def verdict(results: Results) -> tuple[bool, str]:
    """(ok, one-line headline): the gate's decision when it ran, else the raw control verdicts."""
    if results.gate is not None:
        if results.gate.passed:
            return True, "Gate passed"
        return False, f"Gate failed: {len(results.gate.reasons)} reason(s)"
    bad = [c for c in results.controls if effective_status(results, c) in BAD]
    if bad:
        return False, f"{len(bad)} control(s) failed or errored (no gate applied)"
    return True, "No control failed (no gate applied)"


@dataclass
class Changes:
    previous_run: str | None = None
    new_failures: list[tuple[str, str, str]] = field(default_factory=list)
    fixed: list[tuple[str, str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.new_failures or self.fixed or self.changed)


def changes(results: Results, previous: Results | None) -> Changes | None:
    """Status changes per control: (id, before, after)."""
    if previous is None:
        return None
    before = {c.id: c.status for c in previous.controls}
    diff = Changes(previous_run=previous.run.id)
    for control in results.controls:
        old = before.get(control.id)
        new = control.status
        if old is None or old == new:
            continue
        entry = (control.id, old.value, new.value)
        if new in BAD and old not in BAD:
            diff.new_failures.append(entry)
        elif old in BAD and new == Verdict.PASS:
            diff.fixed.append(entry)
        else:
            diff.changed.append(entry)
    return diff
