"""The control catalog: complete against controls.md, valid, and strict about bad entries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.catalog import CatalogError, load_catalog, parse_catalog
from harness.commands.control_cmds import controls
from harness.suite_scan import SuitesNotFound, scan_suites

SEED = Path(__file__).resolve().parents[2] / "shared" / "controls.md"

ENTRY = """
[[control]]
id = "{id}"
title = "t"
claim = "c"
method = "m"
area = "{area}"
severity = "{severity}"
"""


def entry(id: str = "SEC-01", area: str = "hardening", severity: str = "high") -> str:
    return ENTRY.format(id=id, area=area, severity=severity)


def test_catalog_loads_and_covers_the_seed() -> None:
    catalog = load_catalog()
    ids = catalog.ids()
    # 65 from the seed, plus controls added for the roadmap's uncovered criteria.
    assert len(ids) == len(set(ids)) >= 65
    if SEED.is_file():  # the shared seed sits beside the repository in the workspace
        seeded = set(re.findall(r"^\| ([A-Z0-9]+-\d\d) \|", SEED.read_text(), re.MULTILINE))
        assert seeded <= set(ids), seeded - set(ids)


def test_planned_split_matches_the_build_plan() -> None:
    catalog = load_catalog()
    planned = {c.id for c in catalog if c.planned}
    # A control leaves the plan when a suite's test claims it, and only then.
    built = set(scan_suites(Path(__file__).resolve().parents[1] / "suites"))
    for control in catalog:
        should_plan = control.id not in built
        assert (control.id in planned) == should_plan, control.id


def test_refs_are_well_formed_and_spot_checked() -> None:
    catalog = load_catalog()
    for control in catalog:
        for owasp in control.refs.owasp:
            assert re.fullmatch(r"A(0[1-9]|10)", owasp)
    # A few references checked against the standards' texts.
    assert catalog.get("SEC-05").refs.cwe == [89] and "5.3.4" in catalog.get("SEC-05").refs.asvs
    assert catalog.get("AUTH-07").refs.cwe == [384] and catalog.get("AUTH-07").refs.asvs == [
        "3.2.1"
    ]
    assert catalog.get("SEC-02").refs.asvs == ["14.5.3"]
    assert catalog.get("SEC-03").refs.api == ["API4:2023"]
    assert catalog.get("OBS-06").refs.cwe == [117]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (entry() + entry(), "duplicate id SEC-01"),
        (entry(area="network"), "area"),
        (entry(severity="urgent"), "severity"),
        (entry(id="sec-1"), "bad id format"),
        ("[[control]]\nid = 'SEC-01'\n", "title"),
        ("not toml [", "not valid TOML"),
        ("", "no [[control]] entries"),
        (entry() + 'faults = ["a", "a"]\n', "fault 'a' listed twice"),
    ],
)
def test_bad_catalogs_fail_with_one_line(text: str, message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "catalog.toml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_control_lookup() -> None:
    with pytest.raises(CatalogError, match="unknown control 'NOPE-01'"):
        load_catalog().get("NOPE-01")


def test_controls_command() -> None:
    runner = CliRunner()
    listed = runner.invoke(controls, [])
    assert listed.exit_code == 0 and "SEC-05" in listed.output
    # The planned column shows "planned" for any control still planned (none, once all built).
    planned = [c.id for c in load_catalog() if c.planned]
    assert all(f"{c} " in listed.output for c in planned)
    assert ("planned" in listed.output) == bool(planned)
    as_json = runner.invoke(controls, ["--json"])
    data = json.loads(as_json.output)
    assert {"id", "title", "claim", "method", "area", "severity", "planned", "refs"} <= set(data[0])


def test_fault_map_and_quick_matrix() -> None:
    catalog = load_catalog()
    mapping = catalog.fault_map()
    assert mapping["sqli_search"] == ["SEC-05", "SEC-14"]
    assert mapping["weak_hsts"] == ["SEC-01"]
    quick = catalog.quick_faults()
    # One fault per non-planned control that has one, each control's first.
    assert quick[:2] == ["sessions_in_memory", "plaintext_tokens"]
    assert "weak_hsts" not in quick and "no_csp" in quick
    assert "slow_endpoint" in quick  # PERF-02 is built
    assert "lossy_downgrade" in quick  # OPS-01 is built
    assert len(quick) == len(set(quick))


def test_controls_command_shows_one_control_as_a_unit() -> None:
    runner = CliRunner()
    shown = runner.invoke(controls, ["SEC-01"])
    assert shown.exit_code == 0, shown.output
    assert "suites/owasp/test_headers.py::" in shown.output
    assert "harness.probes.headers" in shown.output and "no_csp" in shown.output
    data = json.loads(runner.invoke(controls, ["SEC-01", "--json"]).output)
    assert data["id"] == "SEC-01" and data["faults"][0] == "no_csp"
    assert any(t.startswith("suites/owasp/test_headers.py::") for t in data["tests"])
    assert "harness.probes.headers" in data["probes"]
    assert data["doc"] == "docs/controls/hardening.md"
    assert {"claim", "method", "refs", "ref_labels", "engines"} <= set(data)
    # Any planned control (which ones are still planned changes as suites land).
    first_planned = next((c.id for c in load_catalog() if c.planned), None)
    if first_planned is not None:
        planned = json.loads(runner.invoke(controls, [first_planned.lower(), "--json"]).output)
        assert planned["planned"] is True and planned["tests"] == []
    missing = runner.invoke(controls, ["NOPE-01"])
    assert missing.exit_code == 2 and "no control 'NOPE-01'" in missing.output


def test_suite_scan_reads_marks_on_functions_classes_and_modules(tmp_path: Path) -> None:
    suite = tmp_path / "suites" / "mine"
    suite.mkdir(parents=True)
    (suite / "test_a.py").write_text(
        "import pytest\n"
        "from harness.probes import headers\n"
        "from harness.probes.cors import check as cors_check\n"
        "from harness.engines import wapiti\n"
        "pytestmark = [pytest.mark.stack, pytest.mark.control('MOD-01')]\n"
        "def _helper():\n    return cors_check\n"
        "@pytest.mark.control('FN-01', 'FN-02')\n"
        "def test_fn():\n    headers.x(); _helper()\n"
        "@pytest.mark.control('CL-01')\n"
        "class TestThing:\n"
        "    @pytest.mark.control('ME-01')\n"
        "    def test_m(self):\n        wapiti.run()\n"
        "    def helper(self):\n        pass\n"
    )
    (suite / "test_broken.py").write_text("def test_(:\n")
    found = scan_suites(tmp_path / "suites")
    fn = "suites/mine/test_a.py::test_fn"
    method = "suites/mine/test_a.py::TestThing::test_m"
    assert found["FN-01"].tests == [fn] and found["FN-02"].tests == [fn]
    assert found["FN-01"].probes == ["harness.probes.cors", "harness.probes.headers"]
    assert found["MOD-01"].tests == [fn, method]
    assert found["CL-01"].tests == [method] and found["ME-01"].tests == [method]
    assert found["ME-01"].probes == [] and found["ME-01"].engines == ["harness.engines.wapiti"]
    with pytest.raises(SuitesNotFound, match="no control suites at"):
        scan_suites(tmp_path / "nowhere")


def test_a_control_run_collects_only_the_files_of_its_tests() -> None:
    """The efficacy matrix's fault runs name a few controls: pytest gets their files, not every
    suite folder, since collecting all suites costs as much as the test itself."""
    from harness.runner import SUITES_ROOT, suite_paths

    everything = suite_paths(["owasp", "resilience"])
    assert everything == [str(SUITES_ROOT / "owasp"), str(SUITES_ROOT / "resilience")]
    coverage = scan_suites(SUITES_ROOT)
    files = {
        str(SUITES_ROOT.parent / nodeid.split("::")[0])
        for control in ("SEC-01", "OPS-05")
        for nodeid in coverage[control].tests
    }
    narrowed = suite_paths(["owasp", "resilience"], ["SEC-01", "OPS-05"])
    assert set(narrowed) == files and all(path.endswith(".py") for path in narrowed)
    # A control of a suite not chosen adds nothing; an unknown one keeps every folder.
    assert suite_paths(["owasp"], ["SEC-01", "OPS-05"]) == sorted(
        f for f in files if "/owasp/" in f
    )
    assert suite_paths(["owasp"], ["SEC-01", "NO-SUCH-1"]) == [str(SUITES_ROOT / "owasp")]


def test_a_suite_that_must_run_whole_keeps_its_folder() -> None:
    """E2E controls depend on the profile's journeys, which the e2e suite adds only when its
    folder is asked for: a run naming an E2E control collects the folder, not one file."""
    from harness.runner import SUITES_ROOT, suite_paths

    narrowed = suite_paths(["owasp", "e2e"], ["E2E-01", "E2E-02", "SEC-01"])
    assert str(SUITES_ROOT / "e2e") in narrowed
    assert not any(path.startswith(str(SUITES_ROOT / "e2e") + "/") for path in narrowed)
    assert any(path.endswith(".py") and "/owasp/" in path for path in narrowed)
