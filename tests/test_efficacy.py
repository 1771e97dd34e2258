"""The efficacy matrix's logic, on a fake stack and a fake pytest runner (no services needed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from efficacy_fakes import (
    CATALOG,
    FakeRunner,
    FakeStack,
    as_stack,
    by_name,
    catalog,
    known,
    registry,
    run,
)

from harness.catalog import parse_catalog
from harness.efficacy import run_efficacy
from harness.efficacy_model import EfficacySummary, efficacy_document
from harness.runner import ControlRun


def test_mapped_run_catches_and_misses_and_says_collateral_was_not_measured() -> None:
    report, runner, stack = run(["no_csp", "weak_hsts", "sqli"])
    faults = by_name(report)
    assert faults["no_csp"]["status"] == "caught" and faults["no_csp"]["failed"] == ["SEC-01"]
    assert faults["weak_hsts"]["status"] == "missed"
    assert faults["weak_hsts"]["reason"] == "still SEC-01: pass"
    assert faults["sqli"]["caught"] is True
    assert all(f["collateral_measured"] is False and f["collateral"] == [] for f in faults.values())
    # Only the mapped controls ran under each fault, and the stack ends clean.
    assert runner.calls[0] == (None, None)
    assert ("sqli", ["SEC-05", "SEC-14"]) in runner.calls
    assert stack.applied[-1] == []
    assert report.summary == EfficacySummary(caught=2, total=3, missed=1)
    assert not report.ok
    assert report.summary.line() == "caught 2/3 faults, 0 pending, 0 inconclusive, 0 false alarms"


def test_full_run_measures_collateral() -> None:
    report, runner, _ = run(["no_csp", "crash"], full=True)
    faults = by_name(report)
    assert faults["no_csp"]["collateral"] == [] and faults["no_csp"]["collateral_measured"]
    assert faults["crash"]["status"] == "caught"
    assert faults["crash"]["collateral"] == ["SEC-01", "SEC-05"]
    # Every control that passed clean ran under the fault.
    assert set(runner.calls[-1][1] or []) == {"OBS-01", "SEC-01", "SEC-05", "SEC-14"}
    document = efficacy_document(report)
    assert document["collateral_measured"] is True
    crash = next(f for f in document["faults"] if f["name"] == "crash")  # type: ignore[attr-defined]
    assert crash["collateral"] == ["SEC-01", "SEC-05"]


def test_not_evaluated_under_a_fault_is_retried_once() -> None:
    # A transient engine failure (the DAST tool's own store locked) on the first attempt only.
    def flaky(fault: str | None, control: str, attempt: int) -> str | None:
        return "not_evaluated" if fault == "sqli" and control == "SEC-14" and attempt == 1 else None

    report, runner, _ = run(["sqli"], script=flaky)
    sqli = by_name(report)["sqli"]
    assert sqli["status"] == "caught" and sqli["retried"] == ["SEC-14"]
    assert runner.calls[-1] == ("sqli", ["SEC-14"])
    assert report.ok


def test_a_harness_error_under_a_fault_is_retried_once_then_inconclusive() -> None:
    # A browser step that timed out on a busy machine: the second run is the answer.
    def once(fault: str | None, control: str, attempt: int) -> str | None:
        return "error" if fault == "sqli" and control == "SEC-14" and attempt == 1 else None

    report, runner, _ = run(["sqli"], script=once)
    sqli = by_name(report)["sqli"]
    assert sqli["status"] == "caught" and sqli["retried"] == ["SEC-14"]
    assert runner.calls[-1] == ("sqli", ["SEC-14"])

    def always(fault: str | None, control: str, attempt: int) -> str | None:
        return "error" if fault == "sqli" and control == "SEC-14" else None

    report, _, _ = run(["sqli"], script=always)
    sqli = by_name(report)["sqli"]
    assert sqli["status"] == "inconclusive" and sqli["reason"] == "SEC-14: error"


def test_not_evaluated_twice_is_inconclusive_counted_and_failing() -> None:
    def broken(fault: str | None, control: str, attempt: int) -> str | None:
        return "not_evaluated" if fault == "sqli" and control == "SEC-14" else None

    report, _, _ = run(["no_csp", "sqli"], script=broken)
    sqli = by_name(report)["sqli"]
    assert sqli["status"] == "inconclusive" and sqli["caught"] is False
    assert sqli["reason"] == "SEC-14: not_evaluated"
    assert report.summary.line() == "caught 1/2 faults, 0 pending, 1 inconclusive, 0 false alarms"
    assert not report.ok


def test_a_pass_under_the_fault_is_missed_even_when_another_control_is_unmeasured() -> None:
    def script(fault: str | None, control: str, attempt: int) -> str | None:
        if fault == "sqli":
            return {"SEC-05": "pass", "SEC-14": "not_evaluated"}[control]
        return None

    report, _, _ = run(["sqli"], script=script)
    assert by_name(report)["sqli"]["status"] == "missed"


def test_not_evaluated_on_the_clean_stack_is_retried_then_blocks_its_faults() -> None:
    def clean_dast(fault: str | None, control: str, attempt: int) -> str | None:
        return "not_evaluated" if fault is None and control == "SEC-14" else None

    report, runner, _ = run(["sqli"], script=clean_dast)
    assert report.clean.retried == ["SEC-14"] and runner.calls[1] == (None, ["SEC-14"])
    sqli = by_name(report)["sqli"]
    # SEC-05 still shows the fault, but SEC-14's half cannot be measured: not caught.
    assert sqli["status"] == "inconclusive"
    assert "SEC-14: not_evaluated on the clean stack, twice" in str(sqli["reason"])

    def once(fault: str | None, control: str, attempt: int) -> str | None:
        return "not_evaluated" if fault is None and control == "SEC-14" and attempt == 1 else None

    report, _, _ = run(["sqli"], script=once)
    assert by_name(report)["sqli"]["status"] == "caught" and report.ok


def test_a_false_alarm_makes_its_faults_inconclusive_and_fails() -> None:
    def alarm(fault: str | None, control: str, attempt: int) -> str | None:
        return "fail" if fault is None and control == "SEC-01" else None

    report, runner, _ = run(["no_csp", "sqli"], script=alarm)
    assert report.clean.failed == ["SEC-01"] and report.summary.false_alarms == 1
    no_csp = by_name(report)["no_csp"]
    assert no_csp["status"] == "inconclusive" and "false alarm" in str(no_csp["reason"])
    assert all(fault != "no_csp" for fault, _ in runner.calls), "nothing to measure: not run"
    assert not report.ok


def test_pending_faults_are_listed_with_a_reason_and_counted() -> None:
    report, _, _ = run(["vulnerable_dependency", "no_csp"])
    pending = by_name(report)["vulnerable_dependency"]
    assert pending["status"] == "pending"
    # A file variant (services "source") is measurable; its control being planned is not.
    assert pending["reason"] == "SC-02: planned on the clean stack"
    assert report.summary.pending == 1 and report.summary.total == 1
    assert report.summary.line() == "caught 1/1 faults, 1 pending, 0 inconclusive, 0 false alarms"
    assert report.ok


def test_planned_or_unselected_controls_make_a_fault_pending() -> None:
    stack = FakeStack()
    stack.services.append("source")  # pretend the files were a service: the control decides

    def unselected(fault: str | None, control: str, attempt: int) -> str | None:
        return None

    report, _, _ = run(["vulnerable_dependency"], stack=stack, script=unselected)
    assert by_name(report)["vulnerable_dependency"]["reason"] == "SC-02: planned on the clean stack"


def test_chosen_controls_limit_the_clean_run_and_say_why_the_rest_is_pending() -> None:
    stack = FakeStack()

    def script(fault: str | None, control: str, attempt: int) -> str | None:
        return "fail" if fault == "sqli" and control == "SEC-05" else "pass"

    report, runner, _ = run(["sqli", "no_csp"], stack=stack, script=script, controls=["SEC-05"])
    assert runner.calls[0] == (None, ["SEC-05"]), "the clean run runs only the chosen controls"
    outcome = by_name(report)["sqli"]
    assert outcome["status"] == "caught"
    assert "SEC-14: not among the controls chosen (--control)" in outcome["reason"]
    assert by_name(report)["no_csp"]["status"] == "pending"


def test_a_fault_the_stack_cannot_start_with_is_inconclusive_and_the_run_goes_on() -> None:
    stack = FakeStack()
    stack.broken = {"crash"}
    report, _, _ = run(["crash", "no_csp"], stack=stack)
    crash = by_name(report)["crash"]
    assert crash["status"] == "inconclusive"
    assert crash["reason"] == "the run with the fault broke: app: not ready with crash"
    assert by_name(report)["no_csp"]["status"] == "caught"
    assert stack.applied[-1] == []


def test_faults_run_grouped_by_service_and_report_in_selection_order() -> None:
    stack = FakeStack()
    names = ["no_csp", "weak_hsts", "sqli"]
    faults = registry(*names)
    faults[0].services = ["nginx"]
    runner = FakeRunner(stack)
    report = run_efficacy(
        as_stack(stack),
        runner,
        catalog=catalog(),
        faults=faults,
        profile="p",
        out=Path("/nonexistent"),
        workers=1,
        echo=lambda _line: None,
    )
    assert [f.name for f in report.faults] == names
    assert [a for a in stack.applied if a] == [["weak_hsts"], ["sqli"], ["no_csp"]]


def test_grouped_faults_share_a_run_and_a_miss_is_run_again_alone() -> None:
    stack = FakeStack()
    runner = FakeRunner(stack)
    report = run_efficacy(
        as_stack(stack),
        runner,
        catalog=catalog(),
        faults=registry("no_csp", "sqli", "crash"),
        profile="p",
        out=Path("/nonexistent"),
        workers=2,
        known=known(no_csp=[], sqli=[], crash=[]),
        echo=lambda _line: None,
    )
    faults = by_name(report)
    # The earlier matrix says they do not interfere: one run for the three.
    assert [a for a in stack.applied if a] == [["no_csp", "sqli", "crash"]]
    assert faults["no_csp"]["group"] == ["sqli", "crash"] and faults["no_csp"]["caught"]
    assert faults["crash"]["statuses"] == {"OBS-01": "fail"}
    assert report.summary.caught == 3 and len(runner.calls) == 2


def test_a_fault_missed_in_a_group_is_judged_alone() -> None:
    def hidden(fault: str | None, control: str, attempt: int) -> str | None:
        # On together, SEC-05 does not see the injection (say no_csp hid it).
        return "pass" if fault == "no_csp+sqli" and control == "SEC-05" else None

    stack = FakeStack()
    runner = FakeRunner(stack, hidden)
    report = run_efficacy(
        as_stack(stack),
        runner,
        catalog=catalog(),
        faults=registry("no_csp", "sqli"),
        profile="p",
        out=Path("/nonexistent"),
        workers=2,
        known=known(no_csp=[], sqli=[]),
        echo=lambda _line: None,
    )
    faults = by_name(report)
    assert faults["no_csp"]["group"] == ["sqli"]
    assert faults["sqli"]["group"] == [] and faults["sqli"]["status"] == "caught"
    assert [a for a in stack.applied if a] == [["no_csp", "sqli"], ["sqli"]]


class WaitingRunner(FakeRunner):
    """Holds its first fault run until the other stack has started one (no timing luck)."""

    def __init__(self, stack: FakeStack, other_started: threading.Event) -> None:
        super().__init__(stack)
        self.other_started = other_started

    def __call__(self, *, out: Path, controls: Sequence[str] | None, workers: int) -> ControlRun:
        if self.stack.faults:
            assert self.other_started.wait(10), "the second stack never took a fault"
        return super().__call__(out=out, controls=controls, workers=workers)


class SignallingRunner(FakeRunner):
    def __init__(self, stack: FakeStack, started: threading.Event) -> None:
        super().__init__(stack)
        self.started = started

    def __call__(self, *, out: Path, controls: Sequence[str] | None, workers: int) -> ControlRun:
        self.started.set()
        return super().__call__(out=out, controls=controls, workers=workers)


def test_independent_stacks_share_the_faults_and_each_ends_clean() -> None:
    first, second = FakeStack(), FakeStack()
    started = threading.Event()
    runner_one, runner_two = WaitingRunner(first, started), SignallingRunner(second, started)
    names = ["no_csp", "weak_hsts", "sqli", "crash"]
    lines: list[str] = []
    report = run_efficacy(
        as_stack(first),
        runner_one,
        catalog=catalog(),
        faults=registry(*names),
        profile="p",
        out=Path("/nonexistent"),
        workers=1,
        lanes=[(as_stack(second), runner_two)],
        echo=lines.append,
    )
    assert [f.name for f in report.faults] == names
    assert report.summary.caught == 3 and report.summary.missed == 1
    # The clean run is the first stack's; the faults went to whichever stack was free.
    assert runner_one.calls[0] == (None, None) and runner_two.calls
    assert all(fault is not None for fault, _ in runner_two.calls)
    ran = [c[0] for c in runner_one.calls[1:] + runner_two.calls]
    assert sorted(ran) == sorted(names)
    assert first.applied[-1] == [] and second.applied[-1] == []
    assert any(line.startswith("efficacy: 2 stacks side by side") for line in lines)


def test_faults_of_timing_controls_run_after_the_others_with_no_stack_beside_them() -> None:
    # OBS-01 made a timing control: its fault (crash) must not share the machine with a run on
    # the other stack, where the load alone could make it fail in the fault's place.
    timed = parse_catalog(
        CATALOG.replace('severity = "low"\n', 'severity = "low"\ntiming = true\n'), "t"
    )
    first, second = FakeStack(), FakeStack()
    started = threading.Event()
    runner_one, runner_two = WaitingRunner(first, started), SignallingRunner(second, started)
    lines: list[str] = []
    report = run_efficacy(
        as_stack(first),
        runner_one,
        catalog=timed,
        faults=registry("crash", "no_csp", "sqli"),
        profile="p",
        out=Path("/nonexistent"),
        workers=1,
        lanes=[(as_stack(second), runner_two)],
        echo=lines.append,
    )
    assert report.summary.caught == 3
    # The other two went side by side; crash came last, on the first stack, the second idle.
    assert runner_one.calls[-1][0] == "crash"
    assert "crash" not in [fault for fault, _ in runner_two.calls]
    assert second.applied[-1] == [] and first.applied[-1] == []
    assert (
        "efficacy: 2 stacks side by side for 2 fault(s), then 1 measured by timing controls "
        "on one stack alone"
    ) in lines


def test_an_interrupted_lane_stops_the_other_stacks_after_the_run_in_hand() -> None:
    # Ctrl-C (here a lane's error) reaches the main thread only; the other stack must not go on
    # through the queue while the command waits for it.
    first, second = FakeStack(), FakeStack()
    broke = threading.Event()

    class Breaking(FakeRunner):
        def __call__(
            self, *, out: Path, controls: Sequence[str] | None, workers: int
        ) -> ControlRun:
            if self.stack.faults:
                assert second_started.wait(10)
                broke.set()
                raise KeyboardInterrupt
            return super().__call__(out=out, controls=controls, workers=workers)

    class Slow(FakeRunner):
        def __call__(
            self, *, out: Path, controls: Sequence[str] | None, workers: int
        ) -> ControlRun:
            second_started.set()
            assert broke.wait(10)
            time.sleep(2.0)  # the main thread empties the queue meanwhile (no hook to wait on)
            return super().__call__(out=out, controls=controls, workers=workers)

    second_started = threading.Event()
    runner_two = Slow(second)
    with pytest.raises(KeyboardInterrupt):
        run_efficacy(
            as_stack(first),
            Breaking(first),
            catalog=catalog(),
            faults=registry("no_csp", "weak_hsts", "sqli", "crash"),
            profile="p",
            out=Path("/nonexistent"),
            workers=1,
            lanes=[(as_stack(second), runner_two)],
            echo=lambda _line: None,
        )
    assert len(runner_two.calls) == 1  # the run in hand, and no other
    assert second.applied[-1] == [] and first.applied[-1] == []


def test_a_clean_failure_that_passes_alone_is_not_a_false_alarm_but_is_listed() -> None:
    # A timing control starved by the parallel clean run on a loaded machine.
    def starved(fault: str | None, control: str, attempt: int) -> str | None:
        return "fail" if fault is None and control == "SEC-01" and attempt == 1 else None

    report, runner, _ = run(["no_csp"], script=starved)
    assert runner.calls[1] == (None, ["SEC-01"])
    assert report.clean.failed == [] and report.clean.passed_alone == ["SEC-01"]
    assert by_name(report)["no_csp"]["status"] == "caught" and report.ok
