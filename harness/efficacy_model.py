"""The efficacy matrix's data: faults, their outcomes, the headline and ``efficacy.json``."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

from harness.stack.faults import FaultInfo

# caught: every expected control failed. missed: one of them did not (it passed, or did not
# apply). inconclusive: the verdict could not be measured (a control stayed not_evaluated after
# its retry, errored, already failed on the clean stack, or the run itself broke): counted in
# the total and failing the matrix, never folded into caught. pending: the fault cannot be
# measured here by construction (its controls are planned or not applicable, its suite was not
# selected, or it lives in a service this stack does not run): listed with the reason and
# counted apart.
FaultStatus = Literal["caught", "missed", "inconclusive", "pending"]

# Statuses a control may end in that say nothing about whether it caught the fault.
UNMEASURED = frozenset({"not_evaluated", "error", "not run"})


# One model of a registry entry: the stack reads it (faults_argv), efficacy judges it.
RegisteredFault = FaultInfo


class FaultOutcome(BaseModel):
    name: str
    description: str = ""
    services: list[str] = Field(default_factory=list)
    expected: list[str] = Field(description="the controls the catalog says must fail")
    failed: list[str] = Field(default_factory=list, description="expected controls that failed")
    statuses: dict[str, str] = Field(default_factory=dict, description="every control run")
    collateral: list[str] = Field(
        default_factory=list,
        description="other controls that passed on the clean stack and failed under the fault",
    )
    collateral_measured: bool = Field(
        default=False, description="false when only the expected controls were run"
    )
    retried: list[str] = Field(default_factory=list, description="controls run a second time")
    group: list[str] = Field(
        default_factory=list, description="faults that were on in the same run (see --group-from)"
    )
    caught: bool = False
    status: FaultStatus
    reason: str | None = None
    duration_s: float = 0.0


class CleanOutcome(BaseModel):
    failed: list[str] = Field(description="false alarms: controls failing on the clean stack")
    statuses: dict[str, str]
    retried: list[str] = Field(default_factory=list)
    passed_alone: list[str] = Field(
        default_factory=list,
        description="failed in the parallel clean run, passed when run again alone: not counted "
        "as false alarms, listed so a control that is sensitive to load is seen",
    )
    results: str
    duration_s: float


class EfficacySummary(BaseModel):
    caught: int
    total: int = Field(description="caught + missed + inconclusive (pending are counted apart)")
    missed: int = 0
    inconclusive: int = 0
    pending: int = 0
    false_alarms: int = 0

    def line(self) -> str:
        """The headline scripts grep: every part is always present, zeros included."""
        return (
            f"caught {self.caught}/{self.total} faults, {self.pending} pending, "
            f"{self.inconclusive} inconclusive, {self.false_alarms} false alarm"
            + ("" if self.false_alarms == 1 else "s")
        )


class EfficacyReport(BaseModel):
    profile: str
    mode: Literal["mapped", "full"] = "mapped"
    selection: Literal["all", "quick", "named"] = "all"
    started: float
    duration_s: float
    clean: CleanOutcome
    faults: list[FaultOutcome]
    summary: EfficacySummary

    @property
    def ok(self) -> bool:
        s = self.summary
        return s.caught == s.total and s.inconclusive == 0 and s.false_alarms == 0


def summarise(outcomes: list[FaultOutcome], false_alarms: int) -> EfficacySummary:
    count = {status: sum(o.status == status for o in outcomes) for status in get_args(FaultStatus)}
    return EfficacySummary(
        caught=count["caught"],
        total=count["caught"] + count["missed"] + count["inconclusive"],
        missed=count["missed"],
        inconclusive=count["inconclusive"],
        pending=count["pending"],
        false_alarms=false_alarms,
    )


def efficacy_document(report: EfficacyReport) -> dict[str, object]:
    """The ``efficacy.json`` shape (and the ``efficacy`` key the HTML report renders)."""
    return {
        "profile": report.profile,
        "mode": report.mode,
        "selection": report.selection,
        "collateral_measured": report.mode == "full",
        "duration_s": report.duration_s,
        "faults": [o.model_dump(mode="json") for o in report.faults],
        "clean": {
            "failed": report.clean.failed,
            "retried": report.clean.retried,
            "duration_s": report.clean.duration_s,
        },
        "summary": report.summary.model_dump(),
    }
