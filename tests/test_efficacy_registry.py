"""The fault registry against the catalog, fault selection and grouping plans (no services)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from efficacy_fakes import FakeStack, as_stack, catalog, known, registry

from harness.catalog import load_catalog
from harness.efficacy_groups import load_known, plan_groups
from harness.efficacy_model import RegisteredFault
from harness.efficacy_registry import check_drift, drift, load_registry, select_faults
from harness.runner import HarnessError


def test_drift_names_every_disagreement_in_one_line() -> None:
    theirs = [
        RegisteredFault(name="no_csp", controls=["SEC-01"]),
        RegisteredFault(name="sqli", controls=["SEC-05"]),
        RegisteredFault(name="new_one", controls=["OBS-01"]),
    ]
    problems = drift(catalog(), theirs)
    assert "sqli -> SEC-05,SEC-14 in the catalog but SEC-05 in the registry" in problems
    assert "new_one is only in the registry (-> OBS-01)" in problems
    # A catalog fault this target lacks (weak_hsts) is no drift for this target.
    assert not any("weak_hsts" in problem for problem in problems)
    assert len(problems) == 2
    with pytest.raises(HarnessError) as caught:
        check_drift(catalog(), theirs)
    assert "\n" not in str(caught.value) and "harness/catalog.toml" in str(caught.value)
    check_drift(catalog(), registry(*catalog().fault_map()))


BUNDLED_TARGETS = ("bridge", "jwtapi")


def _bundled_registry(module: str) -> list[RegisteredFault]:
    done = subprocess.run(
        [sys.executable, "-m", module, "faults", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [RegisteredFault.model_validate(item) for item in json.loads(done.stdout)]


@pytest.mark.parametrize("module", BUNDLED_TARGETS)
def test_each_bundled_registry_matches_the_catalog(module: str) -> None:
    assert drift(load_catalog(), _bundled_registry(module)) == []


def test_every_catalog_fault_exists_in_a_bundled_target() -> None:
    """The drift check is per target, so a stale catalog fault name is caught here."""
    known = {fault.name for module in BUNDLED_TARGETS for fault in _bundled_registry(module)}
    stale = sorted(set(load_catalog().fault_map()) - known)
    assert stale == [], f"catalog faults no bundled target registers: {stale}"


def test_load_registry_reports_a_broken_command_in_one_line() -> None:
    good = as_stack(FakeStack('[{"name": "x", "controls": ["A-01"]}]'))
    assert load_registry(good)[0].name == "x"
    with pytest.raises(HarnessError, match=r"cannot read the fault registry: `registry` failed"):
        load_registry(as_stack(FakeStack(code=1)))
    with pytest.raises(HarnessError, match="printed no fault list"):
        load_registry(as_stack(FakeStack("{not json")))
    with pytest.raises(HarnessError, match=r"declares no fault registry \(faults_argv"):
        load_registry(as_stack(FakeStack("[]")))


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
    # Chosen controls: the faults they map to (quick: each one's first), in catalog order.
    chosen = select_faults(catalog(), every, controls=["SEC-01", "SEC-14"])
    assert [f.name for f in chosen] == ["no_csp", "weak_hsts", "sqli"]
    chosen = select_faults(catalog(), every, quick=True, controls=["SEC-01"])
    assert [f.name for f in chosen] == ["no_csp"]
    with pytest.raises(HarnessError, match="unknown fault\\(s\\): nope"):
        select_faults(catalog(), every, only=["nope"])
    with pytest.raises(HarnessError, match="exclude each other"):
        select_faults(catalog(), every, only=["sqli"], quick=True)


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
