"""Dependency outages as a way to reach a target's error paths from outside.

Tracebacks, error-only handlers and second output streams show up only when something fails,
so checks that judge every log line or every status class must see failures too. Stopping a
dependency the profile names is the one outside way to a 5xx that stays safe on any target the
harness started (a disruptive test: the plugin holds the stack's exclusive lock and heals it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from pydantic import BaseModel


class _Stoppable(Protocol):
    services: list[str]

    def stop(self, service: str) -> None: ...

    def start(self, service: str) -> None: ...


class Outage(BaseModel):
    service: str
    recovered: bool = False
    recovery_s: float = 0.0


def dependencies(stack: _Stoppable, wanted: Sequence[str | None]) -> list[str]:
    """The named dependencies that are services of this stack, in the order given."""
    present = set(stack.services)
    out: list[str] = []
    for name in wanted:
        if name and (not present or name in present) and name not in out:
            out.append(name)
    return out


@contextmanager
def outage(
    stack: _Stoppable, service: str, wait_ready: Callable[[], tuple[bool, float]]
) -> Iterator[Outage]:
    """Stop ``service`` for the body of the ``with``; start it again whatever happens, then
    wait (``wait_ready`` -> (recovered, seconds)) so the next check sees a healthy target."""
    record = Outage(service=service)
    stack.stop(service)
    try:
        yield record
    finally:
        stack.start(service)
        record.recovered, record.recovery_s = wait_ready()
