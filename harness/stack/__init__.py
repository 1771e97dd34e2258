"""Stack providers: bring a target up (or point at one) behind typed capabilities.

``open_stack(profile)`` picks the provider the profile names; ``attach(state_path)`` lets any
process operate a stack another process started (xdist workers, ``harness down``). Every
provider is a :class:`Stack`; the ones the harness starts (local, containers) also
:class:`Heals`, are :class:`Lockable` and :class:`HasState` (see ``harness.stack.base``).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.profile import Profile, find_config
from harness.stack.base import (
    BlueGreen,
    Executes,
    HasState,
    Heals,
    Lifecycle,
    LifecycleUnsupported,
    Lockable,
    ServiceNotReady,
    ServiceState,
    ServiceStatus,
    Stack,
    StackCore,
    StackError,
    Swaps,
    SwitchesFaults,
)
from harness.stack.managed import Progress
from harness.stack.state import read_state

__all__ = [
    "BlueGreen",
    "Executes",
    "HasState",
    "Heals",
    "Lifecycle",
    "LifecycleUnsupported",
    "Lockable",
    "Progress",
    "ServiceNotReady",
    "ServiceState",
    "ServiceStatus",
    "Stack",
    "StackCore",
    "StackError",
    "Swaps",
    "SwitchesFaults",
    "attach",
    "open_stack",
]


def open_stack(
    profile: Profile,
    *,
    owner_pid: int | None = -1,
    progress: Progress | None = None,
    config_dir: Path | None = None,
) -> Stack:
    """A stack for ``profile`` (not started: call ``up()``).

    ``owner_pid`` is the process whose death orphans the stack (-1: this one; None: a detached
    stack that only ``harness down`` stops).
    """
    if profile.provider == "external":
        from harness.stack.external import ExternalStack

        return ExternalStack(profile)
    if config_dir is None:
        config_dir = find_config().parent
    if profile.provider == "containers":
        from harness.stack.containers import ContainersStack

        return ContainersStack.create(
            profile, progress=progress, owner_pid=owner_pid, config_dir=config_dir
        )
    from harness.stack.local import LocalStack

    return LocalStack.create(profile, config_dir=config_dir, owner_pid=owner_pid, progress=progress)


def attach(state_path: str | os.PathLike[str], *, progress: Progress | None = None) -> Stack:
    """Operate the running stack described by ``state_path`` (a state file or a link to one)."""
    path = Path(state_path)
    state = read_state(path)
    if state.provider == "containers":
        from harness.stack.containers import ContainersStack

        return ContainersStack.attach(path, progress=progress)
    if state.provider != "local":
        raise StackError(f"{path}: cannot attach to a {state.provider!r} stack")
    from harness.stack.local import LocalStack

    return LocalStack.attach(path.resolve(), progress=progress)
