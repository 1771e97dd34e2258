"""The matrix's wording: a fault's progress line and why a control cannot measure a fault."""

from __future__ import annotations

from collections.abc import Sequence

from harness.catalog import Catalog
from harness.efficacy_model import FaultOutcome


def progress_line(outcome: FaultOutcome) -> str:
    line = f"{outcome.name}: {outcome.status}"
    if outcome.group:
        line += f" (on together with {', '.join(outcome.group)})"
    if outcome.reason:
        line += f" ({outcome.reason})"
    if outcome.collateral_measured:
        line += f"; collateral: {', '.join(outcome.collateral) or 'none'}"
    return line + f" in {outcome.duration_s:.0f}s"


def clean_blocker(control: str, status: str, reason: str | None) -> str:
    if status == "not_evaluated":
        return f"{control}: not_evaluated on the clean stack, twice" + (
            f" ({reason})" if reason else ""
        )
    return f"{control}: already {status} on the clean stack (a false alarm)"


def not_runnable(
    control: str,
    status: str | None,
    reason: str | None,
    catalog: Catalog,
    chosen: Sequence[str] | None = None,
) -> str:
    """Why a control cannot show a fault by construction (the fault is pending for it)."""
    if chosen is not None and control not in chosen:
        return "not among the controls chosen (--control)"
    if status is not None:
        return status + (f" on the clean stack ({reason})" if reason else " on the clean stack")
    if control not in catalog:
        return "not in the catalog"
    if catalog.get(control).planned:
        return "planned (no tests yet)"
    return "its suite was not selected"
