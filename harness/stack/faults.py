"""The target's fault registry, and which services a change of faults touches.

The registry comes from the target itself (the stack definition's ``faults_argv``, a command that
prints it as JSON), so the harness never hard-codes fault names; it is read once per run and
cached in the run dir.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from harness.stack.base import StackError
from harness.stack.definition import StackDefinition


class FaultInfo(BaseModel):
    name: str
    controls: list[str] = Field(default_factory=list)
    description: str = ""
    services: list[str] = Field(default_factory=lambda: ["app"])


_REGISTRY = TypeAdapter(list[FaultInfo])

# Registry ``services`` that are files, not running services (docs/internals.md, Faults): a
# fault there is a file variant that checks reading files lay over the tree. Switching it on
# restarts nothing; it is recorded in the stack's state, where those checks read it.
FILE_KINDS = frozenset({"source", "deploy"})


def load_registry(
    argv: list[str], cache: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, FaultInfo]:
    """Fault name -> info, from the cache file when present, else from ``argv``'s output.

    No ``argv`` (the definition declares no registry): no faults.
    """
    if not argv:
        return {}
    if cache is not None and cache.is_file():
        try:
            return {f.name: f for f in _REGISTRY.validate_json(cache.read_bytes())}
        except ValidationError:
            cache.unlink(missing_ok=True)
    command = " ".join(argv)
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise StackError(f"`{command}` failed: {(done.stderr or done.stdout).strip()}")
    try:
        faults = _REGISTRY.validate_python(json.loads(done.stdout))
    except (ValueError, ValidationError) as exc:
        raise StackError(f"`{command}` printed no fault list: {exc}") from None
    if cache is not None:  # atomically: another process may be reading it
        partial = cache.with_name(f".{cache.name}.{os.getpid()}")
        partial.write_bytes(_REGISTRY.dump_json(faults))
        os.replace(partial, cache)
    return {f.name: f for f in faults}


def validate(names: Iterable[str], registry: dict[str, FaultInfo]) -> list[str]:
    """The names, deduplicated in order; an unknown name is a StackError listing the known."""
    ordered = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in ordered if n not in registry]
    if unknown and not registry:
        raise StackError(
            f"unknown fault {unknown[0]!r}: the stack definition declares no fault registry "
            "(faults_argv)"
        )
    if unknown:
        raise StackError(f"unknown fault {unknown[0]!r} (known: {', '.join(sorted(registry))})")
    return ordered


def per_service(
    faults: Iterable[str], registry: dict[str, FaultInfo], definition: StackDefinition
) -> dict[str, list[str]]:
    """Service name -> the faults it applies (for deciding what a change must restart)."""
    result: dict[str, list[str]] = {name: [] for name in definition.services}
    for fault in faults:
        info = registry.get(fault)
        for where in info.services if info else []:
            owner = definition.fault_owner(where)
            if owner is not None and fault not in result[owner]:
                result[owner].append(fault)
    return result


def services_to_restart(
    old: Iterable[str],
    new: Iterable[str],
    registry: dict[str, FaultInfo],
    definition: StackDefinition,
) -> list[str]:
    """Services whose own fault set differs between ``old`` and ``new``."""
    before = per_service(old, registry, definition)
    after = per_service(new, registry, definition)
    return [s for s in definition.services if set(before[s]) != set(after[s])]
