"""The target's fault registry, checked against the catalog (the one authority on the mapping).

The catalog's ``faults = [...]`` says which faults must trip each control; the target's registry
(``efficacy.registry`` in the profile, run in the app service) says which faults it can switch
on, what they do and which services they live in. The two must agree: a fault one side maps
differently, or only one side knows, is drift, and the matrix refuses to run on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from harness.catalog import Catalog
from harness.efficacy_model import RegisteredFault
from harness.runner import HarnessError
from harness.stack.base import Stack

# The service the registry command runs in (the profile's description of efficacy.registry).
REGISTRY_SERVICE = "app"


def load_registry(stack: Stack, argv: Sequence[str]) -> list[RegisteredFault]:
    done = stack.exec(REGISTRY_SERVICE, list(argv))
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-1:])[-300:]
        raise HarnessError(f"cannot read the fault registry ({' '.join(argv)}): {tail}")
    try:
        return [RegisteredFault.model_validate(item) for item in json.loads(done.stdout)]
    except (ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0]
        raise HarnessError(f"the fault registry is not the expected JSON list: {first}") from None


def drift(catalog: Catalog, registry: Sequence[RegisteredFault]) -> list[str]:
    """Every disagreement between the catalog's mapping and the registry's, one phrase each."""
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
    known = {fault.name for fault in registry}
    problems += [
        f"{name} is only in the catalog (-> {','.join(controls)})"
        for name, controls in mapped.items()
        if name not in known
    ]
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
) -> list[RegisteredFault]:
    """The faults to run, in catalog order: the named ones, the quick matrix, or all."""
    if only and quick:
        raise HarnessError("--fault and --quick exclude each other: name faults or ask for quick")
    by_name = {fault.name: fault for fault in registry}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise HarnessError(
            f"unknown fault(s): {', '.join(unknown)} (the registry knows: "
            f"{', '.join(sorted(by_name)) or 'none'})"
        )
    if only:
        names = list(dict.fromkeys(only))
    elif quick:
        names = [name for name in catalog.quick_faults() if name in by_name]
    else:
        order = list(catalog.fault_map())
        names = sorted(by_name, key=lambda n: order.index(n) if n in order else len(order))
    return [by_name[name] for name in names]
