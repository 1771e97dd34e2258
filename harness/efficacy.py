"""The efficacy matrix: every control proves it can fail, and the run says what else failed.

1. The clean stack runs every selected suite. A control failing there is a false alarm; a
   control a fault needs that is ``not_evaluated`` there is run once more before it counts as
   unmeasurable.
2. Each fault is switched on in turn (the stack restarts only the services whose fault set
   changes, and faults are ordered by service so consecutive ones restart the least). The
   controls the catalog maps it to are run again, or, with ``full``, every control that passed
   clean, so the collateral (other controls failing under the fault) is measured too. An
   expected control that comes back ``not_evaluated`` is retried once.
3. Each fault ends ``caught``, ``missed``, ``inconclusive`` or ``pending`` (see
   ``harness.efficacy_model``).

The pytest side is a ``SuiteRunner`` (``harness.runner``) so the logic can be tested with a
fake stack and runner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from harness.catalog import Catalog
from harness.efficacy_groups import KnownFault, plan_groups, split_timed
from harness.efficacy_lines import clean_blocker, not_runnable, progress_line
from harness.efficacy_model import (
    UNMEASURED,
    CleanOutcome,
    EfficacyReport,
    FaultOutcome,
    RegisteredFault,
    summarise,
)
from harness.runner import HarnessError, SuiteRunner
from harness.stack.base import Stack, StackError
from harness.stack.faults import FILE_KINDS

# Statuses on the clean stack that make a control unable to show a fault because of what is
# happening now (not because of what the control is): the fault is inconclusive, not pending.
_BLOCKED_CLEAN = {"fail", "error", "not_evaluated"}
# Under a fault, a control that could not run, or whose probe raised (a harness error: a tool
# or browser step timing out on a busy machine, another stack's run beside it), runs once more;
# the second answer stands, and a second error makes the fault inconclusive.
_RETRY = {"not_evaluated", "not run", "error"}


def run_efficacy(
    stack: Stack,
    runner: SuiteRunner,
    *,
    catalog: Catalog,
    faults: Sequence[RegisteredFault],
    profile: str,
    out: Path,
    workers: int,
    full: bool = False,
    selection: Literal["all", "quick", "named"] = "all",
    known: dict[str, KnownFault] | None = None,
    lanes: Sequence[tuple[Stack, SuiteRunner]] = (),
    controls: Sequence[str] | None = None,
    echo: Callable[[str], None] = print,
) -> EfficacyReport:
    """The matrix. ``known`` (a full matrix's faults) lets non-interfering faults share runs;
    ``lanes`` are more stacks of the same profile (with their runners) that take faults too;
    ``controls`` limits the clean run (and so what a fault is measured with) to those."""
    started = time.time()
    mapping = catalog.fault_map()
    expected_of = {f.name: mapping.get(f.name, f.controls) for f in faults}

    echo("efficacy: clean run")
    clean_run = runner(out=out / "clean", controls=controls, workers=workers)
    clean = dict(clean_run.statuses)
    reasons = dict(clean_run.reasons)
    needed = {c for controls in expected_of.values() for c in controls}
    # A control that could not run, or failed, on the clean stack gets one more run, alone: a
    # transient tool failure or a timing control starved by the parallel run (a loaded CI
    # machine) must not count as a false alarm; a failure that comes back alone does.
    unmeasured = sorted(
        c for c, s in clean.items() if s == "not_evaluated" and (full or c in needed)
    )
    failing = sorted(c for c, s in clean.items() if s in ("fail", "error"))
    retry = sorted(unmeasured + failing)
    clean_s = clean_run.duration_s
    if unmeasured:
        names = ", ".join(unmeasured)
        echo(f"efficacy: not_evaluated on the clean stack, running once more: {names}")
    if failing:
        echo(f"efficacy: failed on the clean stack, running once more alone: {', '.join(failing)}")
    if retry:
        again = runner(out=out / "clean-retry", controls=retry, workers=1)
        clean_s += again.duration_s
        for control in retry:
            clean[control] = again.statuses.get(control, clean[control])
            if control in again.reasons:
                reasons[control] = again.reasons[control]
    passed_alone = [c for c in failing if clean[c] == "pass"]
    if passed_alone:
        echo(
            "efficacy: passed alone after failing in the parallel clean run (not a false alarm, "
            f"but sensitive to load): {', '.join(passed_alone)}"
        )
    false_alarms = sorted(c for c, s in clean.items() if s in ("fail", "error"))
    echo(
        f"efficacy: clean run took {clean_s:.0f}s; "
        + (f"FALSE ALARMS: {', '.join(false_alarms)}" if false_alarms else "no false alarm")
    )

    # Faults that live in the same services run one after another: each switch then restarts
    # only those services.
    order = sorted(faults, key=lambda f: sorted(f.services))
    outcomes: dict[str, FaultOutcome] = {}
    ready: list[_Ready] = []
    for fault in order:
        prepared = _prepare(
            stack, fault, expected_of[fault.name], clean, reasons, catalog, chosen=controls
        )
        if isinstance(prepared, FaultOutcome):
            outcomes[fault.name] = prepared
            echo(f"efficacy: {progress_line(prepared)}")
        else:
            ready.append(prepared)
    groups = [[r] for r in ready]
    if known is not None and not full:
        by_name = {r.fault.name: r for r in ready}
        planned = plan_groups([r.fault for r in ready], expected_of, known)
        groups = [[by_name[f.name] for f in group] for group in planned]
    progress = threading.Lock()
    done = 0

    def report(outcome: FaultOutcome) -> None:
        nonlocal done
        with progress:
            done += 1
            outcomes[outcome.name] = outcome
            echo(f"efficacy: [{done}/{len(ready)}] {progress_line(outcome)}")

    def lane(lane_stack: Stack, lane_runner: SuiteRunner, queue: list[list[_Ready]]) -> None:
        """Work through the groups on one stack; leave it clean."""
        try:
            while True:
                with progress:
                    if not queue:
                        return
                    group = queue.pop(0)
                _run_groups(lane_stack, lane_runner, group, clean, report, out, workers, full)
        finally:
            lane_stack.apply_faults([])

    everyone = [(stack, runner), *lanes]
    if len(everyone) == 1:
        lane(stack, runner, groups)
    else:
        timed = {control.id for control in catalog if control.timing}
        shared, alone = split_timed(groups, lambda ready: ready.measurable, timed)
        # Independent stacks side by side: each takes the next group when it is free. Faults
        # that timing controls measure come after, on the first stack with the machine to
        # itself: a run beside them could make those controls fail in the fault's place.
        echo(
            f"efficacy: {len(everyone)} stacks side by side for {sum(map(len, shared))} "
            f"fault(s), then {sum(map(len, alone))} measured by timing controls on one stack alone"
        )
        with ThreadPoolExecutor(max_workers=len(everyone)) as pool:
            futures = [pool.submit(lane, s, r, shared) for s, r in everyone]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                # Ctrl-C (or a lane's error) reaches this thread only: empty the queue so the
                # other stacks stop after the run in hand instead of working through it.
                with progress:
                    shared.clear()
                raise
        lane(stack, runner, alone)

    listed = [outcomes[f.name] for f in faults]
    return EfficacyReport(
        profile=profile,
        mode="full" if full else "mapped",
        selection=selection,
        started=started,
        duration_s=round(time.time() - started, 1),
        clean=CleanOutcome(
            failed=false_alarms,
            statuses=clean,
            retried=retry,
            passed_alone=passed_alone,
            results=clean_run.results,
            duration_s=round(clean_s, 1),
        ),
        faults=listed,
        summary=summarise(listed, len(false_alarms)),
    )


def _run_groups(
    stack: Stack,
    runner: SuiteRunner,
    group: list[_Ready],
    clean: dict[str, str],
    report: Callable[[FaultOutcome], None],
    out: Path,
    workers: int,
    full: bool,
) -> None:
    """One group: shared when it has several faults, then alone whatever was not caught."""
    alone = group
    if len(group) > 1:
        names = "+".join(r.fault.name for r in group)
        caught, alone = _run_group(
            stack, runner, group, out=out / "groups" / names, workers=workers
        )
        for outcome in caught:
            report(outcome)
    for one in alone:
        fault_out = out / "faults" / one.fault.name
        report(_run_fault(stack, runner, one, clean, out=fault_out, workers=workers, full=full))


class _Ready(BaseModel):
    """A fault that can be measured: what to run and what is known before running."""

    fault: RegisteredFault
    base: FaultOutcome
    measurable: list[str]
    blocked: list[str]
    aside: list[str]


def _prepare(
    stack: Stack,
    fault: RegisteredFault,
    expected: list[str],
    clean: dict[str, str],
    reasons: dict[str, str],
    catalog: Catalog,
    chosen: Sequence[str] | None = None,
) -> _Ready | FaultOutcome:
    """The fault ready to run, or its outcome when there is nothing it can be measured with."""
    base = FaultOutcome(
        name=fault.name,
        description=fault.description,
        services=fault.services,
        expected=expected,
        status="pending",
    )
    # A file variant needs no service: the stack records it and file checks read it.
    elsewhere = [s for s in fault.services if s not in stack.services and s not in FILE_KINDS]
    if elsewhere:
        base.reason = f"lives in {', '.join(elsewhere)}: not a running service of this stack"
        return base
    measurable = [c for c in expected if clean.get(c) == "pass"]
    blocked = [
        clean_blocker(c, clean[c], reasons.get(c))
        for c in expected
        if clean.get(c) in _BLOCKED_CLEAN
    ]
    aside = [
        f"{c}: {not_runnable(c, clean.get(c), reasons.get(c), catalog, chosen)}"
        for c in expected
        if c not in measurable and clean.get(c) not in _BLOCKED_CLEAN
    ]
    if not measurable and blocked:
        return base.model_copy(update={"status": "inconclusive", "reason": "; ".join(blocked)})
    if not measurable:
        return base.model_copy(update={"reason": "; ".join(aside) or "no control"})
    return _Ready(fault=fault, base=base, measurable=measurable, blocked=blocked, aside=aside)


def _run_fault(
    stack: Stack,
    runner: SuiteRunner,
    ready: _Ready,
    clean: dict[str, str],
    *,
    out: Path,
    workers: int,
    full: bool,
) -> FaultOutcome:
    began = time.monotonic()
    measurable = ready.measurable
    others = sorted(c for c, s in clean.items() if s == "pass" and c not in ready.base.expected)
    to_run = measurable + others if full else measurable
    got: dict[str, str] = {}
    retried: list[str] = []
    try:
        stack.apply_faults([ready.fault.name])
        run = runner(out=out, controls=to_run, workers=workers if len(to_run) > 1 else 1)
        got = {c: run.statuses.get(c, "not run") for c in to_run}
        retried = [c for c in measurable if got[c] in _RETRY]
        if retried:
            again = runner(out=out / "retry", controls=retried, workers=1)
            got.update({c: again.statuses.get(c, "not run") for c in retried})
    except (HarnessError, StackError) as exc:
        return _finish(
            ready.base,
            began,
            status="inconclusive",
            reason=f"the run with the fault broke: {str(exc).splitlines()[0]}",
            statuses=got,
            retried=retried,
        )
    collateral = [c for c in others if got.get(c) in ("fail", "error")] if full else []
    return _finish(
        _judge(ready, got),
        began,
        statuses=got,
        retried=retried,
        collateral=collateral,
        collateral_measured=full,
    )


def _run_group(
    stack: Stack,
    runner: SuiteRunner,
    group: list[_Ready],
    *,
    out: Path,
    workers: int,
) -> tuple[list[FaultOutcome], list[_Ready]]:
    """Faults that do not interfere, on together: those caught, and those to run alone."""
    began = time.monotonic()
    names = [ready.fault.name for ready in group]
    to_run = [c for ready in group for c in ready.measurable]
    try:
        stack.apply_faults(names)
        run = runner(out=out, controls=to_run, workers=workers)
    except (HarnessError, StackError):
        return [], group
    share = round((time.monotonic() - began) / len(group), 1)
    caught: list[FaultOutcome] = []
    alone: list[_Ready] = []
    for ready in group:
        got = {c: run.statuses.get(c, "not run") for c in ready.measurable}
        outcome = _judge(ready, got)
        if outcome.status != "caught":
            alone.append(ready)
            continue
        others = [n for n in names if n != ready.fault.name]
        caught.append(
            outcome.model_copy(update={"statuses": got, "group": others, "duration_s": share})
        )
    return caught, alone


def _judge(ready: _Ready, got: dict[str, str]) -> FaultOutcome:
    """The verdict from the expected controls' statuses under the fault."""
    measurable = ready.measurable
    failed = [c for c in measurable if got[c] == "fail"]
    passed = [f"{c}: {got[c]}" for c in measurable if got[c] != "fail" and got[c] not in UNMEASURED]
    unmeasured = [f"{c}: {got[c]}" for c in measurable if got[c] in UNMEASURED] + ready.blocked
    reason: str | None
    if passed:
        status, reason = "missed", "still " + ", ".join(passed)
    elif unmeasured:
        status, reason = "inconclusive", "; ".join(unmeasured)
    else:
        aside = ready.aside
        status, reason = "caught", ("not measured: " + "; ".join(aside)) if aside else None
    return ready.base.model_copy(
        update={"status": status, "reason": reason, "failed": failed, "caught": status == "caught"}
    )


def _finish(base: FaultOutcome, began: float, **update: object) -> FaultOutcome:
    update["duration_s"] = round(time.monotonic() - began, 1)
    return base.model_copy(update=update)
