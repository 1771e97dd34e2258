"""The target's fault registry, checked against the catalog (the one authority on the mapping).

The catalog's ``faults = [...]`` says which faults must trip each control; the target's registry
(the stack definition's ``faults_argv``, read by the stack) says which faults it can switch
on, what they do and which services they live in. Every fault of the target's registry must be
in the catalog with the same controls: one the catalog maps differently, or does not know, is
drift, and the matrix refuses to run on it. The catalog serves every target, so its faults that
this target lacks are not drift.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.catalog import Catalog
from harness.efficacy_model import RegisteredFault
from harness.runner import HarnessError
from harness.stack.base import KnowsFaults, Stack, StackError


def load_registry(stack: Stack) -> list[RegisteredFault]:
    """The running target's registry; one line when it has none or cannot be read."""
    if not isinstance(stack, KnowsFaults):
        raise HarnessError(f"stack {stack.name!r} cannot read a fault registry")
    try:
        registry = stack.fault_registry()
    except StackError as exc:
        raise HarnessError(f"cannot read the fault registry: {exc}") from None
    if not registry:
        raise HarnessError(
            f"stack {stack.name!r} declares no fault registry (faults_argv in its stack "
            "definition): there are no seeded faults to run"
        )
    return registry


def drift(catalog: Catalog, registry: Sequence[RegisteredFault]) -> list[str]:
    """Every disagreement between the catalog's mapping and this target's registry, one phrase
    each.

    The check is scoped to the running target: each of its faults must be in the catalog with
    the same controls. The catalog covers every bundled target, so a catalog fault this target
    does not have is no drift here (a catalog fault that no bundled target has is caught by the
    harness's own tests instead).
    """
    mapped = catalog.fault_map()
    problems: list[str] = []
    for fault in registry:
        ours = mapped.get(fault.name)
        if ours is None:
            problems.append(f"{fault.name} is only in the registry (-> {','.join(fault.controls)})")
        elif set(ours) != set(fault.controls):
            problems.append(
                f"{fault.name} -> {','.join(ours)} in the catalog but "
                f"{','.join(fault.controls)} in the registry"
            )
    return problems


def check_drift(catalog: Catalog, registry: Sequence[RegisteredFault]) -> None:
    problems = drift(catalog, registry)
    if problems:
        raise HarnessError(
            "the catalog and the target's fault registry disagree (fix the faults lists in "
            "harness/catalog.toml or the registry): " + "; ".join(problems)
        )


def select_faults(
    catalog: Catalog,
    registry: Sequence[RegisteredFault],
    *,
    only: Sequence[str] = (),
    quick: bool = False,
    controls: Sequence[str] = (),
) -> list[RegisteredFault]:
    """The faults to run, in catalog order: the named ones, the quick matrix, or all; with
    ``controls``, only the faults those controls map to (quick: each one's first fault)."""
    if only and quick:
        raise HarnessError("--fault and --quick exclude each other: name faults or ask for quick")
    by_name = {fault.name: fault for fault in registry}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise HarnessError(
            f"unknown fault(s): {', '.join(unknown)} (the registry knows: "
            f"{', '.join(sorted(by_name)) or 'none'})"
        )
    mapping = catalog.fault_map()
    if only:
        names = list(dict.fromkeys(only))
    elif quick and controls:
        firsts = [catalog.get(c).faults[:1] for c in controls if c in catalog]
        names = [n for n in dict.fromkeys(n for first in firsts for n in first) if n in by_name]
    elif quick:
        names = [name for name in catalog.quick_faults() if name in by_name]
    else:
        order = list(mapping)
        names = sorted(by_name, key=lambda n: order.index(n) if n in order else len(order))
    if controls and not only:
        chosen = set(controls)
        names = [n for n in names if chosen & set(mapping.get(n, []))]
    return [by_name[name] for name in names]
