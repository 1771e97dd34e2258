"""Dependency outages as a way to reach a target's error paths from outside.

Tracebacks, error-only handlers and second output streams show up only when something fails,
so checks that judge every log line or every status class must see failures too. Stopping a
dependency the profile names is the one outside way to a 5xx that stays safe on any target the
harness started (a disruptive test: the plugin holds the stack's exclusive lock and heals it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import httpx
from pydantic import BaseModel

from harness.operations import Operation, operations
from harness.probes import health
from harness.profile import Profile
from harness.verdicts import NotApplicable


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


def stoppable(stack: _Stoppable, profile: Profile, outbound: Sequence[str], why: str) -> list[str]:
    """The profile's dependencies this stack can stop, database first (the dependency whose
    loss reaches the most handlers); NotApplicable, ending with ``why``, when there is none."""
    stores = profile.datastores
    services = dependencies(stack, [stores.database_service, stores.redis_service, *outbound])
    if not services:
        raise NotApplicable(
            "no dependency to stop (datastores.database_service, datastores.redis_service, "
            f"observability.outbound_services): {why}"
        )
    return services


# Session-changing routes stay out: logging out mid-outage would end the probe's session.
_SESSION_ROUTE = re.compile(r"(^|/)(login|logout|auth)(/|$)")


def plain_gets(profile: Profile, document: dict[str, Any], limit: int) -> list[Operation]:
    """Up to ``limit`` GET operations without path parameters, other than the probe endpoints
    (liveness, readiness, metrics, the document) and the session routes."""
    settings = profile.target
    skip = {settings.live_path, settings.ready_path, settings.metrics_path, settings.openapi_path}
    return [
        op
        for op in operations(document)
        if op.method == "GET"
        and not op.path_params
        and op.path not in skip
        and not _SESSION_ROUTE.search(op.path)
    ][:limit]


def ready_again(
    client: httpx.Client, ready_path: str, within_s: float
) -> Callable[[], tuple[bool, float]]:
    """The ``wait_ready`` of :func:`outage`: readiness answering 200 within ``within_s``."""

    def wait() -> tuple[bool, float]:
        reached, took, _, _ = health.poll(
            lambda: health.read(client, ready_path), lambda r: r.status_code == 200, within_s
        )
        return reached, took

    return wait


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
