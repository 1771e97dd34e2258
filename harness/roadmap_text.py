"""The roadmap's own text, read into numbered items: what harness/roadmap.toml must cover.

A section is a ``#### N. Title`` heading. Its acceptance criteria are the ``- [ ]`` lines (ids
``RM-N.K``, K counting from 1 in order), its tasks the first column of its first table (ids
``RM-N.TK``). The package ships a copy of the roadmap (``cross-cutting-roadmap.md``) so the
wheel needs no checkout; a test keeps the copy equal to the seed when the seed is present.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

ROADMAP_TEXT_PATH = Path(__file__).with_name("cross-cutting-roadmap.md")

_SECTION = re.compile(r"^####\s+(\d+)\.\s+(.+?)\s*$")
_CRITERION = re.compile(r"^-\s+\[[ xX]\]\s+(.+?)\s*$")
# A table row whose first cell is bold: "| **Session Management** | ... |"
_TASK_ROW = re.compile(r"^\|\s*\*\*(.+?)\*\*\s*\|")


class RoadmapLine(BaseModel):
    """One criterion or task as the roadmap words it."""

    id: str
    section: int
    section_title: str
    kind: str  # "criterion" or "task"
    text: str


def parse_roadmap(text: str) -> list[RoadmapLine]:
    """Every criterion and task of the numbered sections, in document order."""
    items: list[RoadmapLine] = []
    section: int | None = None
    title = ""
    criteria = tasks = 0
    table_done = in_table = False
    for raw in text.splitlines():
        line = raw.strip()
        heading = _SECTION.match(line)
        if heading:
            section, title = int(heading.group(1)), heading.group(2)
            criteria = tasks = 0
            table_done = in_table = False
            continue
        if section is None:
            continue
        if line.startswith("## "):  # a top-level heading ends the numbered sections' block
            section = None
            continue
        task = _TASK_ROW.match(line)
        if task and not table_done:
            in_table = True
            tasks += 1
            items.append(_line(f"RM-{section}.T{tasks}", section, title, "task", task.group(1)))
            continue
        if in_table and not line.startswith("|"):
            in_table, table_done = False, True
        criterion = _CRITERION.match(line)
        if criterion:
            criteria += 1
            items.append(
                _line(f"RM-{section}.{criteria}", section, title, "criterion", criterion.group(1))
            )
    return items


def _line(item_id: str, section: int, title: str, kind: str, text: str) -> RoadmapLine:
    return RoadmapLine(id=item_id, section=section, section_title=title, kind=kind, text=text)


def shipped_roadmap() -> list[RoadmapLine]:
    return parse_roadmap(ROADMAP_TEXT_PATH.read_text(encoding="utf-8"))
