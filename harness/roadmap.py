"""Roadmap traceability: every criterion and task of the roadmap, with the controls verifying it.

``roadmap.toml`` (beside the catalog) is the data; this module loads and validates it and rolls
a run's control verdicts up into one status per item (``coverage``), which results.json carries
as its optional ``roadmap`` field and every report renders.

Roll-up, per item: ``uncovered`` when no control verifies it; ``not_met`` when any of its
controls failed or errored (a waiver does not make a criterion met); ``met`` when every control
that reached a verdict passed and at least one passed (``not_applicable`` ones are left aside);
otherwise ``not_evaluated`` (planned, not run in this run, not evaluated), with the reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.verdicts import Verdict

ROADMAP_PATH = Path(__file__).with_name("roadmap.toml")


class RoadmapError(Exception):
    """roadmap.toml is malformed; the message is one line."""


class RoadmapItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["criterion", "task"]
    text: str
    controls: list[str] = Field(default_factory=list)
    uncovered: str | None = None
    note: str | None = None

    @property
    def section(self) -> int:
        return int(self.id.removeprefix("RM-").split(".")[0])


class RefOnly(BaseModel):
    model_config = ConfigDict(extra="forbid")

    control: str
    section: int
    reason: str


class Roadmap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: list[RoadmapItem]
    ref_only: list[RefOnly] = Field(default_factory=list)


def parse(text: str, source: str = "roadmap") -> Roadmap:
    try:
        roadmap = Roadmap.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise RoadmapError(f"{source}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise RoadmapError(f"{source}: {key}: {first['msg']}") from None
    seen: set[str] = set()
    for entry in roadmap.item:
        if entry.id in seen:
            raise RoadmapError(f"{source}: duplicate id {entry.id}")
        seen.add(entry.id)
        if bool(entry.controls) == bool(entry.uncovered):
            raise RoadmapError(f"{source}: {entry.id}: give controls or an uncovered reason")
    return roadmap


@lru_cache(maxsize=1)
def load() -> Roadmap:
    return parse(ROADMAP_PATH.read_text(encoding="utf-8"), ROADMAP_PATH.name)


class ItemStatus(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_EVALUATED = "not_evaluated"
    UNCOVERED = "uncovered"


class ControlVerdict(BaseModel):
    id: str
    status: str = Field(description="the control's verdict in this run, or 'not run'")


class ItemCoverage(BaseModel):
    id: str
    kind: str
    text: str
    status: ItemStatus
    controls: list[ControlVerdict] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="why uncovered or not evaluated")
    note: str | None = None


class RoadmapCoverage(BaseModel):
    items: list[ItemCoverage] = Field(default_factory=list)
    summary: dict[str, int] = Field(
        default_factory=dict, description="item count by status, criteria and tasks apart"
    )


_BAD = {Verdict.FAIL.value, Verdict.ERROR.value, Verdict.WAIVED.value}
NOT_RUN = "not run"


def judge(item: RoadmapItem, statuses: Mapping[str, str]) -> ItemCoverage:
    verdicts = [ControlVerdict(id=c, status=statuses.get(c, NOT_RUN)) for c in item.controls]
    base = ItemCoverage(
        id=item.id, kind=item.kind, text=item.text, status=ItemStatus.NOT_EVALUATED,
        controls=verdicts, note=item.note,
    )  # fmt: skip
    if not item.controls:
        return base.model_copy(update={"status": ItemStatus.UNCOVERED, "reason": item.uncovered})
    bad = [v for v in verdicts if v.status in _BAD]
    if bad:
        return base.model_copy(
            update={
                "status": ItemStatus.NOT_MET,
                "reason": ", ".join(f"{v.id} {v.status}" for v in bad),
            }
        )
    decided = [v for v in verdicts if v.status != Verdict.NOT_APPLICABLE.value]
    if decided and all(v.status == Verdict.PASS.value for v in decided):
        return base.model_copy(update={"status": ItemStatus.MET})
    open_ = [v for v in decided if v.status != Verdict.PASS.value] or verdicts
    return base.model_copy(update={"reason": ", ".join(f"{v.id} {v.status}" for v in open_)})


def coverage(statuses: Mapping[str, str], roadmap: Roadmap | None = None) -> RoadmapCoverage:
    """Every roadmap item judged from control id -> verdict (controls this run did not report
    count as 'not run')."""
    roadmap = roadmap or load()
    items = [judge(item, statuses) for item in roadmap.item]
    summary: dict[str, int] = {}
    for entry in items:
        group = "criteria" if entry.kind == "criterion" else "tasks"
        for key in (f"{group}_{entry.status.value}", entry.status.value):
            summary[key] = summary.get(key, 0) + 1
    summary["criteria"] = sum(1 for e in items if e.kind == "criterion")
    summary["tasks"] = sum(1 for e in items if e.kind == "task")
    return RoadmapCoverage(items=items, summary=summary)
