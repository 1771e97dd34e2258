"""The control catalog: complete against controls.md, valid, and strict about bad entries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.catalog import CatalogError, load_catalog, parse_catalog
from harness.commands.report_cmds import controls

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
    assert len(ids) == len(set(ids)) == 65
    if SEED.is_file():  # the shared seed sits beside the repository in the workspace
        seeded = set(re.findall(r"^\| ([A-Z0-9]+-\d\d) \|", SEED.read_text(), re.MULTILINE))
        assert seeded <= set(ids), seeded - set(ids)


def test_planned_split_matches_the_build_plan() -> None:
    catalog = load_catalog()
    planned = {c.id for c in catalog if c.planned}
    for control in catalog:
        prefix = control.id.split("-")[0]
        should_plan = prefix in {"API", "OPS", "E2E", "SC"} or control.id in {
            "PERF-02",
            "PERF-03",
            "PERF-04",
        }
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
    assert listed.exit_code == 0 and "SEC-05" in listed.output and "planned" in listed.output
    as_json = runner.invoke(controls, ["--json"])
    data = json.loads(as_json.output)
    assert {"id", "title", "claim", "method", "area", "severity", "planned", "refs"} <= set(data[0])
