"""The one small interface every stack provider implements.

Suites talk to a running stack only through this protocol, so a target can be local
processes, containers or an external deployment without any test knowing which.
"""

from __future__ import annotations

import subprocess
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

if TYPE_CHECKING:  # both import this module
    from harness.stack.faults import FaultInfo
    from harness.stack.lock import StackLock
    from harness.stack.state import StackState


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


# -- capabilities ------------------------------------------------------------------------------
# Each provider implements what it can; mypy checks every one structurally. ``Stack`` is what a
# suite may call on any stack: an operation a provider cannot do raises LifecycleUnsupported
# (the external provider does that for every lifecycle control), which the pytest plugin reports
# as ``not_applicable``. The optional ones (Heals, Lockable, HasState) are tested with
# ``isinstance``: members are methods or plain attributes, never properties that could raise,
# because Python 3.11's runtime protocol check evaluates each member.


@runtime_checkable
class StackCore(Protocol):
    """What every provider has: names, URLs, logs, status, up and down."""

    name: str
    services: list[str]

    @property
    def ca_bundle(self) -> str | None:
        """The PEM file clients verify the stack's TLS with (None: the system store)."""
        ...

    def up(self) -> None: ...

    def down(self) -> None: ...

    def url(self, service: str) -> str: ...

    def mark(self, service: str) -> int: ...

    def logs(self, service: str, since: int = 0) -> list[str]: ...

    def status(self) -> dict[str, ServiceStatus]: ...


@runtime_checkable
class Lifecycle(Protocol):
    """Stop, start and restart one service."""

    def stop(self, service: str) -> None: ...

    def start(self, service: str) -> None: ...

    def restart(self, service: str) -> None: ...


@runtime_checkable
class Executes(Protocol):
    """Run a command with a service's environment (or inside its container)."""

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]: ...


@runtime_checkable
class Swaps(Protocol):
    """Run a service at another release (upgrade and downgrade drills)."""

    def swap(self, service: str, release: str) -> None: ...


Instance = Literal["blue", "green"]


@runtime_checkable
class BlueGreen(Protocol):
    """Run a second instance of a service beside the running one and move a proxy between them
    (the blue-green deploy drill). "blue" is the service's own instance (its usual address,
    what ``url`` names), "green" the second one on an address of its own; each is told which
    it is (the definition's ``{instance}`` template name), so its answers can say so."""

    def start_green(self, service: str, release: str) -> str:
        """Start green at ``release`` beside blue; returns its own URL once its readiness check
        passes (readiness only: whether it can serve is what the drill finds out)."""
        ...

    def switch(self, proxy: str, service: str, to: Instance) -> float:
        """Point ``proxy``'s upstream for ``service`` at blue or green with a graceful reload
        (the old workers finish what they hold); returns the seconds until new workers run."""
        ...

    def stop_instance(self, service: str, which: Instance) -> None:
        """Stop one instance with the service's stop signal; returns once it has exited."""
        ...

    def restore_blue(self, proxy: str, service: str) -> list[str]:
        """Blue running at the stack's release, ``proxy`` pointing at it, green gone; returns
        what it did (nothing when that was already so). The drill's rollback."""
        ...


@runtime_checkable
class SwitchesFaults(Protocol):
    """Switch the target's seeded faults (the efficacy matrix)."""

    def apply_faults(self, faults: list[str]) -> None: ...


@runtime_checkable
class KnowsFaults(Protocol):
    """Reads the target's own seeded-fault registry (the stack definition's ``faults_argv``)."""

    def fault_registry(self) -> list[FaultInfo]:
        """Every fault the target can switch on; [] when the definition declares no registry.

        Raises StackError when the registry command fails or prints no fault list.
        """
        ...


@runtime_checkable
class Stack(StackCore, Lifecycle, Executes, Swaps, SwitchesFaults, Protocol):
    """A running (or startable) set of services, as suites see it."""


@runtime_checkable
class Heals(Protocol):
    """Can be brought back to a baseline after a disruptive test."""

    def baseline(self) -> tuple[str, list[str]]:
        """The release and faults the stack runs with now."""
        ...

    def heal(self, release: str, faults: list[str]) -> list[str]:
        """Every service running at ``release`` with ``faults``; returns what it did."""
        ...


@runtime_checkable
class Lockable(Protocol):
    """Has the readers-writer lock tests hold while they use (or disrupt) the stack."""

    def lock(self) -> StackLock: ...


@runtime_checkable
class HasState(Protocol):
    """Keeps a state file other processes attach to (``harness.stack.attach``):
    ``state.path``, ``state.ports``, ``state.release``..."""

    state: StackState
