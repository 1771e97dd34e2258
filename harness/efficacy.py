"""The efficacy matrix: every control proves it can fail.

The clean reference stack runs every suite first: any control failing there is a false alarm.
Then each seeded fault is switched on in turn (only the services it lives in restart) and only
the controls it maps to are run again; the fault is caught when every one of them fails.
A fault whose controls have no tests yet is ``pending`` and stays out of the total.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from harness.runner import HarnessError, load_results, run_pytest, statuses
from harness.stack.base import Stack

FaultStatus = Literal["caught", "missed", "pending"]

# A control in one of these states on the clean stack cannot show a fault: it is not a test
# that ran and passed, so the fault that maps to it is pending rather than caught or missed.
_NOT_RUNNABLE = {"planned", "not_applicable", "not_evaluated"}


class RegisteredFault(BaseModel):
    name: str
    controls: list[str]
    description: str = ""
    services: list[str] = Field(default_factory=lambda: ["app"])


class FaultOutcome(BaseModel):
    name: str
    description: str = ""
    services: list[str] = Field(default_factory=list)
    expected: list[str]
    failed: list[str] = Field(default_factory=list)
    statuses: dict[str, str] = Field(default_factory=dict)
    caught: bool = False
    status: FaultStatus
    reason: str | None = None
    duration_s: float = 0.0


class CleanOutcome(BaseModel):
    failed: list[str]
    statuses: dict[str, str]
    results: str
    duration_s: float


class EfficacySummary(BaseModel):
    caught: int
    total: int
    false_alarms: int
    pending: int

    def line(self) -> str:
        return (
            f"caught {self.caught}/{self.total} faults, {self.false_alarms} false alarm"
            + ("" if self.false_alarms == 1 else "s")
            + (f" ({self.pending} pending)" if self.pending else "")
        )


class EfficacyReport(BaseModel):
    profile: str
    started: float
    duration_s: float
    clean: CleanOutcome
    faults: list[FaultOutcome]
    summary: EfficacySummary

    @property
    def ok(self) -> bool:
        return self.summary.caught == self.summary.total and self.summary.false_alarms == 0


def load_registry(stack: Stack) -> list[RegisteredFault]:
    """The target's own fault registry (``python -m bridge faults --json`` in the app)."""
    done = stack.exec("app", ["python", "-m", "bridge", "faults", "--json"])
    if done.returncode != 0:
        raise HarnessError(f"cannot read the fault registry: {done.stderr.strip()[-300:]}")
    try:
        return [RegisteredFault.model_validate(item) for item in json.loads(done.stdout)]
    except ValueError as exc:
        raise HarnessError(f"the fault registry is not the expected JSON: {exc}") from exc


def run_efficacy(
    stack: Stack,
    *,
    profile: str,
    state_path: Path | None,
    suites: Sequence[str],
    out: Path,
    workers: int,
    only: Sequence[str] = (),
    echo: Callable[[str], None] = print,
    verbose: bool = False,
    strict_catalog: bool = False,
) -> EfficacyReport:
    started = time.time()
    registry = load_registry(stack)
    known = {fault.name for fault in registry}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise HarnessError(
            f"unknown fault(s): {', '.join(unknown)} (see `python -m bridge faults`)"
        )
    selected = [fault for fault in registry if not only or fault.name in only]

    pytest_echo = echo if verbose else None
    echo(f"efficacy: clean run of {', '.join(suites)}")
    clean_run = run_pytest(
        profile=profile,
        state_path=state_path,
        suites=suites,
        out=out / "clean",
        workers=workers,
        echo=pytest_echo,
        strict_catalog=strict_catalog,
    )
    clean_statuses = statuses(load_results(clean_run.results))
    false_alarms = sorted(c for c, s in clean_statuses.items() if s in ("fail", "error"))
    echo(
        f"efficacy: clean run took {clean_run.duration_s:.0f}s; "
        + (f"FALSE ALARMS: {', '.join(false_alarms)}" if false_alarms else "no false alarm")
    )

    outcomes: list[FaultOutcome] = []
    try:
        for index, fault in enumerate(selected, 1):
            outcome = _run_fault(
                stack,
                fault,
                clean_statuses,
                profile=profile,
                state_path=state_path,
                suites=suites,
                out=out / "faults" / fault.name,
                workers=workers,
                echo=pytest_echo,
            )
            outcomes.append(outcome)
            echo(
                f"efficacy: [{index}/{len(selected)}] {fault.name}: {outcome.status}"
                + (f" ({outcome.reason})" if outcome.reason else "")
                + (f" in {outcome.duration_s:.0f}s" if outcome.status != "pending" else "")
            )
    finally:
        stack.apply_faults([])

    counted = [o for o in outcomes if o.status != "pending"]
    summary = EfficacySummary(
        caught=sum(o.caught for o in counted),
        total=len(counted),
        false_alarms=len(false_alarms),
        pending=len(outcomes) - len(counted),
    )
    return EfficacyReport(
        profile=profile,
        started=started,
        duration_s=round(time.time() - started, 1),
        clean=CleanOutcome(
            failed=false_alarms,
            statuses=clean_statuses,
            results=str(clean_run.results),
            duration_s=clean_run.duration_s,
        ),
        faults=outcomes,
        summary=summary,
    )


def _run_fault(
    stack: Stack,
    fault: RegisteredFault,
    clean: dict[str, str],
    *,
    profile: str,
    state_path: Path | None,
    suites: Sequence[str],
    out: Path,
    workers: int,
    echo: Callable[[str], None] | None,
) -> FaultOutcome:
    expected = [c for c in fault.controls if c in clean and clean[c] not in _NOT_RUNNABLE]
    base = FaultOutcome(
        name=fault.name,
        description=fault.description,
        services=fault.services,
        expected=fault.controls,
        status="pending",
    )
    if not expected:
        why = ", ".join(f"{c}: {clean.get(c) or _absent(c)}" for c in fault.controls)
        base.reason = why or "the fault maps to no control"
        return base
    if set(fault.services) - {"app", "nginx", "spotify_mock", "slskd_mock"}:
        base.reason = f"lives in {', '.join(fault.services)}: not a running service"
        return base
    began = time.monotonic()
    stack.apply_faults([fault.name])
    run = run_pytest(
        profile=profile,
        state_path=state_path,
        suites=suites,
        out=out,
        workers=workers if len(expected) > 1 else 1,
        controls=expected,
        echo=echo,
    )
    got = statuses(load_results(run.results))
    failed = sorted(c for c in expected if got.get(c) == "fail")
    caught = set(failed) == set(expected)
    missed = [f"{c}: {got.get(c, 'not run')}" for c in expected if c not in failed]
    return base.model_copy(
        update={
            "expected": expected,
            "failed": failed,
            "statuses": {c: got.get(c, "not run") for c in expected},
            "caught": caught,
            "status": "caught" if caught else "missed",
            "reason": None if caught else "still " + ", ".join(missed),
            "duration_s": round(time.monotonic() - began, 1),
        }
    )


def _absent(control: str) -> str:
    """Why a control has no status in the clean run."""
    from harness.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog()
        if control not in catalog:
            return "not in the catalog"
        if catalog.get(control).planned:
            return "planned (no tests yet)"
    except CatalogError:
        pass
    return "its suite was not selected"


def efficacy_document(report: EfficacyReport) -> dict[str, object]:
    """The ``efficacy.json`` shape (and the ``efficacy`` key the HTML report renders)."""
    return {
        "profile": report.profile,
        "duration_s": report.duration_s,
        "faults": [
            {
                "name": o.name,
                "description": o.description,
                "expected": o.expected,
                "failed": o.failed,
                "caught": o.caught,
                "status": o.status,
                "reason": o.reason,
                "duration_s": o.duration_s,
            }
            for o in report.faults
        ],
        "clean": {"failed": report.clean.failed, "duration_s": report.clean.duration_s},
        "summary": report.summary.model_dump(),
    }
