"""The prober's mix for a target, from its profile and its OpenAPI document.

Reads: liveness, the release path (``resilience.release_path``, whose answer names the
release) and, logged in, the ``auth.me_path``. Writes: ``resilience.write_operation`` with a
body made from the document's schema for it (fresh unique values each time), when the
profile names one and the document describes it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from harness.drills.prober import BodyFactory, ProbeCall
from harness.operations import Operation, operations
from harness.operations.values import example
from harness.profile import Profile


class Mix(BaseModel):
    calls: list[ProbeCall]
    write: Operation | None = None
    notes: list[str] = Field(default_factory=list)

    def body(self) -> BodyFactory | None:
        write = self.write
        if write is None or write.body_schema is None:
            return None
        schema = write.body_schema

        def make(_: int) -> dict[str, Any]:
            value = example(schema, style="complete")
            return value if isinstance(value, dict) else {}

        return make


def _find(document: dict[str, Any], key: str) -> Operation | None:
    method, _, path = key.partition(" ")
    for op in operations(document):
        if op.method == method.upper() and op.path == path.strip():
            return op
    return None


def build(profile: Profile, document: dict[str, Any], *, logged_in: bool) -> Mix:
    """The calls of the mix; a write only when logged in and described by the document."""
    settings = profile.resilience
    calls = [ProbeCall(path=profile.target.live_path)]
    notes: list[str] = []
    if settings.release_path:
        calls.append(ProbeCall(path=settings.release_path, release_field=settings.release_field))
    else:
        notes.append("no resilience.release_path: the release that answered is not recorded")
    me_path = profile.auth.me_path
    if logged_in and me_path:
        calls.append(ProbeCall(path=me_path))
    write: Operation | None = None
    if settings.write_operation and logged_in:
        write = _find(document, settings.write_operation)
        if write is None or write.body_schema is None:
            notes.append(
                f"resilience.write_operation {settings.write_operation!r} has no JSON body in the "
                "document: the prober only reads"
            )
            write = None
        else:
            calls.append(ProbeCall(kind="write", method=write.method, path=write.path))
    elif not settings.write_operation:
        notes.append("no resilience.write_operation: the prober only reads")
    return Mix(calls=calls, write=write, notes=notes)
