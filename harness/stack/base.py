"""The one small interface every stack provider implements.

Suites talk to a running stack only through this protocol, so a target can be local
processes, containers or an external deployment without any test knowing which.
"""

from __future__ import annotations

import subprocess
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel


class StackError(Exception):
    """The stack could not do what was asked (a service did not come up, a bad state file)."""


class LifecycleUnsupported(StackError):
    """The provider cannot operate on this service (an external deployment).

    The pytest plugin reports a control that hits this as ``not_applicable`` with the message.
    """


class ServiceNotReady(StackError):
    """A service did not pass its readiness check in time; the message carries its log tail."""


class ServiceState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"
    UNKNOWN = "unknown"


class ServiceStatus(BaseModel):
    url: str | None = None
    state: ServiceState = ServiceState.UNKNOWN
    pid: int | None = None
    detail: str | None = None


@runtime_checkable
class Stack(Protocol):
    """A running (or startable) set of services."""

    name: str
    services: list[str]

    def up(self) -> None: ...

    def down(self) -> None: ...

    def url(self, service: str) -> str: ...

    def mark(self, service: str) -> int: ...

    def logs(self, service: str, since: int = 0) -> list[str]: ...

    def stop(self, service: str) -> None: ...

    def start(self, service: str) -> None: ...

    def restart(self, service: str) -> None: ...

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]: ...

    def swap(self, service: str, release: str) -> None: ...

    def apply_faults(self, faults: list[str]) -> None: ...

    def status(self) -> dict[str, ServiceStatus]: ...
