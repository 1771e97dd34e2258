"""Partial coverage under ``safety = "safe"``: walk what the mode allows, say what it held back.

Controls that walk every operation of the OpenAPI document (headers, validation, injection,
error disclosure, anonymous access) take the document from :func:`safe_surface`: the
operations the safety policy would refuse are removed before any probe sees them (so nothing
stops at the first refused write), counted, and noted on the policy. After its own asserts a
control calls :meth:`Coverage.conclude`: a failure found on what was checked is still a
failure, but a clean walk over part of the surface is ``not_evaluated`` saying what was
checked and what needs ``safety = intrusive`` (docs/safety.md, "Partial coverage").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.operations import Operation
from harness.safety import NEEDS_INTRUSIVE, NeedsIntrusive, SafetyPolicy

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_SHOWN = 8  # held-back operations named in a verdict; the evidence has them all


@dataclass(frozen=True)
class Coverage:
    """The document a walk may use, and what the safety mode took out of it."""

    document: dict[str, Any]
    total: int
    held: dict[str, str] = field(default_factory=dict)  # "POST /items" -> refusal reason
    # Requests a probe made up (a 405 provocation) that the mode refused: said in the verdict
    # and the evidence, but alone they do not make a walk partial (no operation was skipped).
    extra: dict[str, str] = field(default_factory=dict)

    def hold(self, refused: dict[str, str]) -> None:
        """Add a probe's own refused requests (request -> reason) to what the verdict names."""
        self.extra.update(refused)

    @property
    def allowed(self) -> int:
        return self.total - len(self.held)

    def describe(self, checked: int | None = None, noun: str = "operations") -> str:
        """``checked 12 of 40 operations; 28 need safety = intrusive (POST /a, ...)``."""
        done = self.allowed if checked is None else checked
        line = f"checked {done} of {self.total} {noun}"
        if self.held:
            names = list(self.held)
            more = f", and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
            line += (
                f"; {len(names)} need {NEEDS_INTRUSIVE.removeprefix('needs ')} "
                f"({', '.join(names[:_SHOWN])}{more})"
            )
        if self.extra:
            line += f"; also held back: {', '.join(list(self.extra)[:_SHOWN])}"
        return line

    def conclude(self, checked: int | None = None, noun: str = "operations") -> None:
        """Call after the control's asserts: a clean partial walk is not a pass."""
        if self.held:
            what = self.describe(checked, noun)
            raise NeedsIntrusive(
                f"{NEEDS_INTRUSIVE} ({what}; nothing found on what was checked)", what
            )


def safe_surface(policy: SafetyPolicy, document: dict[str, Any]) -> Coverage:
    """``document`` minus the operations ``policy`` refuses; the intrusive mode keeps all."""
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return Coverage(document, 0)
    kept_paths: dict[str, Any] = {}
    held: dict[str, str] = {}
    total = 0
    for path, item in paths.items():
        if not isinstance(item, dict):
            kept_paths[path] = item
            continue
        kept: dict[str, Any] = {}
        for key, op in item.items():
            if key.lower() not in HTTP_METHODS:
                kept[key] = op
                continue
            total += 1
            refused = policy.hold(key, "http://openapi.invalid" + path)
            if refused is None:
                kept[key] = op
            else:
                held[f"{key.upper()} {path}"] = refused.reason
        kept_paths[path] = kept
    return Coverage({**document, "paths": kept_paths}, total, held)


def safe_operations(
    policy: SafetyPolicy, ops: Sequence[Operation]
) -> tuple[list[Operation], Coverage]:
    """``ops`` minus those ``policy`` refuses, for walks fed by the operation model (an OpenAPI
    document or the crawl); the Coverage says what was held back, as :func:`safe_surface` does."""
    kept: list[Operation] = []
    held: dict[str, str] = {}
    for op in ops:
        refused = policy.hold(op.method, "http://operations.invalid" + op.path)
        if refused is None:
            kept.append(op)
        else:
            held[f"{op.method.upper()} {op.path}"] = refused.reason
    return kept, Coverage({}, len(ops), held)
