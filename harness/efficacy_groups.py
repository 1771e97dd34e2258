"""Which faults may share one run: the way through a long matrix without losing attribution.

Switching a fault on costs a restart and a pytest start-up; with a hundred faults that is most of
the matrix. Faults may share a run only when the last full matrix (``harness efficacy --full``,
its ``efficacy.json``) showed that they do not interfere: each was caught alone with its
collateral measured, they live in the same services, their expected controls are disjoint, and
neither's collateral touches the other's expected controls. A grouped fault that is not caught
in the shared run is run again alone, so a group can hide nothing it did not already show alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.efficacy_model import RegisteredFault
from harness.runner import HarnessError

DEFAULT_GROUP_SIZE = 4

Item = TypeVar("Item")


class KnownFault(BaseModel):
    """A fault as the last full matrix saw it."""

    model_config = ConfigDict(extra="ignore")

    name: str
    status: str
    collateral: list[str] = Field(default_factory=list)
    collateral_measured: bool = False


def load_known(path: Path) -> dict[str, KnownFault]:
    """The faults of a full matrix's ``efficacy.json`` (one line if it is not one)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read the earlier matrix: {exc}") from None
    if not isinstance(document, dict) or not document.get("collateral_measured"):
        raise HarnessError(
            f"{path}: not the efficacy.json of a full matrix (run `harness efficacy --full`): "
            "grouping needs each fault's measured collateral"
        )
    try:
        faults = [KnownFault.model_validate(item) for item in document.get("faults", [])]
    except ValidationError as exc:
        raise HarnessError(f"{path}: unexpected fault entry: {exc.errors()[0]['msg']}") from None
    return {fault.name: fault for fault in faults}


def plan_groups(
    faults: Sequence[RegisteredFault],
    expected_of: dict[str, list[str]],
    known: dict[str, KnownFault],
    *,
    size: int = DEFAULT_GROUP_SIZE,
) -> list[list[RegisteredFault]]:
    """Faults in runs of up to ``size``, keeping the given order within each group."""
    groups: list[list[RegisteredFault]] = []
    for fault in faults:
        home = next(
            (
                group
                for group in groups
                if len(group) < size
                and all(_compatible(fault, m, expected_of, known) for m in group)
            ),
            None,
        )
        if home is None:
            groups.append([fault])
        else:
            home.append(fault)
    return groups


def _compatible(
    a: RegisteredFault,
    b: RegisteredFault,
    expected_of: dict[str, list[str]],
    known: dict[str, KnownFault],
) -> bool:
    seen_a, seen_b = known.get(a.name), known.get(b.name)
    if seen_a is None or seen_b is None:
        return False
    if not all(s.status == "caught" and s.collateral_measured for s in (seen_a, seen_b)):
        return False
    if sorted(a.services) != sorted(b.services):
        return False
    expect_a, expect_b = set(expected_of[a.name]), set(expected_of[b.name])
    return not (
        expect_a & expect_b
        or expect_a & set(seen_b.collateral)
        or expect_b & set(seen_a.collateral)
    )


def split_timed(
    groups: Sequence[list[Item]], measured: Callable[[Item], Iterable[str]], timed: set[str]
) -> tuple[list[list[Item]], list[list[Item]]]:
    """The groups that may run beside another stack's run, and those a timing control measures
    (catalog ``timing``): a busy machine alone could make such a control fail, so a catch with
    another run beside it would not be the fault's."""
    shared: list[list[Item]] = []
    alone: list[list[Item]] = []
    for group in groups:
        controls = {c for item in group for c in measured(item)}
        (alone if controls & timed else shared).append(group)
    return shared, alone
