"""Roadmap traceability: roadmap.toml in step with the roadmap's text and with the catalog, the
roll-up of verdicts, and the section every report renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import roadmap
from harness.catalog import load_catalog
from harness.report import render_all
from harness.report.summary import render as render_summary
from harness.results import load_results
from harness.roadmap_text import ROADMAP_TEXT_PATH, parse_roadmap, shipped_roadmap

DATA = Path(__file__).parent / "data"
SEED_NAME = Path("shared") / "seed" / "cross-cutting-roadmap.md"


def _seed() -> Path | None:
    """The workspace's seed roadmap, found beside the repository (absent in a bare clone)."""
    for folder in Path(__file__).resolve().parents:
        if (folder / SEED_NAME).is_file():
            return folder / SEED_NAME
    return None


def test_the_shipped_copy_equals_the_seed() -> None:
    seed = _seed()
    if seed is None:
        pytest.skip("no shared/seed/cross-cutting-roadmap.md beside the repository")
    assert ROADMAP_TEXT_PATH.read_text() == seed.read_text(), (
        f"harness/{ROADMAP_TEXT_PATH.name} differs from {seed}: copy the seed and update "
        "roadmap.toml"
    )


def test_every_criterion_line_of_the_roadmap_is_parsed() -> None:
    """Counted independently of the parser: every '- [ ]' line becomes one criterion."""
    text = ROADMAP_TEXT_PATH.read_text()
    lines = [m.group(1) for m in re.finditer(r"^- \[[ xX]\] (.+?)\s*$", text, re.MULTILINE)]
    parsed = [item.text for item in shipped_roadmap() if item.kind == "criterion"]
    assert parsed == lines
    assert len(parsed) == 39


def test_roadmap_data_matches_the_text_item_for_item() -> None:
    text_items = {item.id: item for item in shipped_roadmap()}
    data_items = {item.id: item for item in roadmap.load().item}
    assert sorted(text_items) == sorted(data_items), (
        f"missing from roadmap.toml: {sorted(set(text_items) - set(data_items))}; "
        f"not in the roadmap: {sorted(set(data_items) - set(text_items))}"
    )
    for item_id, item in text_items.items():
        entry = data_items[item_id]
        assert (entry.kind, entry.text) == (item.kind, item.text), item_id


def test_roadmap_data_is_in_step_with_the_catalog() -> None:
    catalog = load_catalog()
    data = roadmap.load()
    for item in data.item:
        unknown = [c for c in item.controls if c not in catalog]
        assert not unknown, f"{item.id}: unknown controls {unknown}"
    mapped: dict[int, set[str]] = {}
    for item in data.item:
        mapped.setdefault(item.section, set()).update(item.controls)
    for aside in data.ref_only:
        assert aside.control in catalog
        mapped.setdefault(aside.section, set()).add(aside.control)
    # Every control the catalog files under a roadmap section verifies an item of that section
    # (or roadmap.toml says why not): the catalog's refs and this file cannot drift apart.
    for control in catalog:
        for ref in control.refs.roadmap:
            if ref.startswith("§"):
                assert control.id in mapped.get(int(ref[1:]), set()), (
                    f"{control.id} cites roadmap {ref} but no item of {ref} lists it"
                )


def test_bad_roadmap_data_fails_with_one_line() -> None:
    good = '[[item]]\nid = "RM-1.1"\nkind = "criterion"\ntext = "t"\ncontrols = ["X-01"]\n'
    with pytest.raises(roadmap.RoadmapError, match="duplicate id RM-1.1"):
        roadmap.parse(good + good)
    with pytest.raises(roadmap.RoadmapError, match="controls or an uncovered reason"):
        roadmap.parse(good.replace('["X-01"]', "[]"))
    with pytest.raises(roadmap.RoadmapError, match="kind"):
        roadmap.parse(good.replace("criterion", "wish"))


def test_parser_numbers_criteria_and_tasks_per_section() -> None:
    text = (
        "#### 4. Hardening\n| Task | x |\n|--|--|\n| **A** | a |\n| **B** | b |\n\n"
        "**Acceptance Criteria:**\n- [ ] first\n- [x] second\n"
        "#### 5. More\n| **C** | c |\n\n| **not a task** | second table |\n## End\n- [ ] after\n"
    )
    got = [(i.id, i.text) for i in parse_roadmap(text)]
    assert got == [
        ("RM-4.T1", "A"), ("RM-4.T2", "B"), ("RM-4.1", "first"), ("RM-4.2", "second"),
        ("RM-5.T1", "C"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({"A-01": "pass", "B-01": "pass"}, "met"),
        ({"A-01": "pass", "B-01": "not_applicable"}, "met"),
        ({"A-01": "pass", "B-01": "fail"}, "not_met"),
        ({"A-01": "waived", "B-01": "pass"}, "not_met"),
        ({"A-01": "error"}, "not_met"),
        ({"A-01": "pass", "B-01": "planned"}, "not_evaluated"),
        ({"A-01": "pass"}, "not_evaluated"),  # B-01 not run in this run
        ({"A-01": "not_applicable", "B-01": "not_applicable"}, "not_evaluated"),
    ],
)
def test_roll_up(statuses: dict[str, str], expected: str) -> None:
    item = roadmap.RoadmapItem(id="RM-1.1", kind="criterion", text="t", controls=["A-01", "B-01"])
    judged = roadmap.judge(item, statuses)
    assert judged.status.value == expected
    if expected != "met":
        assert judged.reason  # what kept it from met is said


def test_uncovered_items_carry_their_reason() -> None:
    cover = roadmap.coverage({})
    uncovered = [i for i in cover.items if i.status == roadmap.ItemStatus.UNCOVERED]
    assert uncovered and all(i.reason for i in uncovered)
    assert cover.summary["criteria"] + cover.summary["tasks"] == len(shipped_roadmap())


def test_every_report_shows_the_roadmap_section(tmp_path: Path) -> None:
    results = load_results(DATA / "sample-run" / "results.json")
    assert results.roadmap is not None
    render_all(results, tmp_path, run_dir=DATA / "sample-run")
    html = (tmp_path / "report.html").read_text()
    assert 'id="roadmap"' in html
    for item in shipped_roadmap():  # none missing
        assert f'<td class="mono">{item.id}</td>' in html, item.id
    summary = render_summary(results)
    assert "### Roadmap coverage" in summary and "acceptance criteria:" in summary
    raw = json.loads((DATA / "sample-run" / "results.json").read_text())
    assert len(raw["roadmap"]["items"]) == len(shipped_roadmap())
