"""The efficacy matrix's logic, on a fake stack and a fake pytest runner (no services needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pytest

from harness.catalog import Catalog, load_catalog, parse_catalog
from harness.efficacy import ControlRun, run_efficacy
from harness.efficacy_groups import KnownFault, load_known, plan_groups
from harness.efficacy_model import (
    EfficacyReport,
    EfficacySummary,
    RegisteredFault,
    efficacy_document,
)
from harness.efficacy_registry import check_drift, drift, load_registry, select_faults
from harness.runner import HarnessError
from harness.stack.base import Stack, StackError

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

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, self.code, self.registry_json, "boom\nno such")


def as_stack(fake: FakeStack) -> Stack:
    """The fake has what efficacy uses (services, apply_faults, exec), not a whole stack."""
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
        echo=lines.append,
    )
    return report, runner, stack


def by_name(report: EfficacyReport) -> dict[str, dict[str, object]]:
    return {f.name: f.model_dump() for f in report.faults}


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
    assert pending["reason"] == "lives in source: not a running service of this stack"
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


# -- the registry and the catalog -------------------------------------------------------------


def test_drift_names_every_disagreement_in_one_line() -> None:
    theirs = [
        RegisteredFault(name="no_csp", controls=["SEC-01"]),
        RegisteredFault(name="sqli", controls=["SEC-05"]),
        RegisteredFault(name="new_one", controls=["OBS-01"]),
    ]
    problems = drift(catalog(), theirs)
    assert "sqli -> SEC-05,SEC-14 in the catalog but SEC-05 in the registry" in problems
    assert "new_one is only in the registry (-> OBS-01)" in problems
    assert "weak_hsts is only in the catalog (-> SEC-01)" in problems
    with pytest.raises(HarnessError) as caught:
        check_drift(catalog(), theirs)
    assert "\n" not in str(caught.value) and "harness/catalog.toml" in str(caught.value)
    check_drift(catalog(), registry(*catalog().fault_map()))


def test_the_reference_registry_matches_the_catalog() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "faults", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    theirs = [RegisteredFault.model_validate(item) for item in json.loads(done.stdout)]
    assert drift(load_catalog(), theirs) == []


def test_load_registry_reports_a_broken_command_in_one_line() -> None:
    good = as_stack(FakeStack('[{"name": "x", "controls": ["A-01"]}]'))
    assert load_registry(good, ["r"])[0].name == "x"
    with pytest.raises(HarnessError, match=r"cannot read the fault registry \(r --json\): no such"):
        load_registry(as_stack(FakeStack(code=1)), ["r", "--json"])
    with pytest.raises(HarnessError, match="not the expected JSON list"):
        load_registry(as_stack(FakeStack("{not json")), ["r"])


def test_select_faults() -> None:
    every = registry("no_csp", "weak_hsts", "sqli", "crash", "vulnerable_dependency")
    assert [f.name for f in select_faults(catalog(), every)] == [
        "no_csp",
        "weak_hsts",
        "sqli",
        "crash",
        "vulnerable_dependency",
    ]
    # The quick matrix: each non-planned control's first fault, once.
    assert [f.name for f in select_faults(catalog(), every, quick=True)] == [
        "no_csp",
        "sqli",
        "crash",
    ]
    assert [f.name for f in select_faults(catalog(), every, only=["sqli", "sqli"])] == ["sqli"]
    with pytest.raises(HarnessError, match="unknown fault\\(s\\): nope"):
        select_faults(catalog(), every, only=["nope"])
    with pytest.raises(HarnessError, match="exclude each other"):
        select_faults(catalog(), every, only=["sqli"], quick=True)


# -- grouping faults that do not interfere ----------------------------------------------------


def known(**collateral: list[str]) -> dict[str, KnownFault]:
    return {
        name: KnownFault(name=name, status="caught", collateral=c, collateral_measured=True)
        for name, c in collateral.items()
    }


def test_plan_groups_keeps_interfering_faults_apart() -> None:
    faults = registry("no_csp", "weak_hsts", "sqli", "crash")
    expected = {f.name: f.controls for f in faults}
    seen = known(no_csp=[], weak_hsts=[], sqli=[], crash=["SEC-01", "SEC-05"])
    groups = plan_groups(faults, expected, seen)
    names = [[f.name for f in group] for group in groups]
    # no_csp and weak_hsts share SEC-01; crash fails SEC-01 and SEC-05 as collateral.
    assert names == [["no_csp", "sqli"], ["weak_hsts"], ["crash"]]
    # Unknown to the earlier matrix, or not caught there: alone.
    seen["sqli"].status = "missed"
    assert [len(g) for g in plan_groups(faults, expected, seen)] == [1, 1, 1, 1]
    assert [len(g) for g in plan_groups(faults, expected, {})] == [1, 1, 1, 1]
    faults[2].services = ["nginx"]
    seen["sqli"].status = "caught"
    assert [[f.name for f in g] for g in plan_groups(faults, expected, seen)][0] == ["no_csp"]


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


def test_load_known_needs_a_full_matrix(tmp_path: Path) -> None:
    path = tmp_path / "efficacy.json"
    path.write_text(json.dumps({"collateral_measured": False, "faults": []}))
    with pytest.raises(HarnessError, match="not the efficacy.json of a full matrix"):
        load_known(path)
    path.write_text(
        json.dumps(
            {
                "collateral_measured": True,
                "faults": [{"name": "a", "status": "caught", "collateral": ["X-01"], "extra": 1}],
            }
        )
    )
    assert load_known(path)["a"].collateral == ["X-01"]
    with pytest.raises(HarnessError, match="cannot read"):
        load_known(tmp_path / "missing.json")
