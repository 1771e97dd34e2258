"""Stack providers: bring a target up (or point at one) behind the one Stack protocol.

``open_stack(profile)`` picks the provider the profile names; ``attach(state_path)`` lets any
process operate a stack another process started (xdist workers, ``harness down``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from harness.profile import Profile, find_config
from harness.stack.base import (
    LifecycleUnsupported,
    ServiceNotReady,
    ServiceState,
    ServiceStatus,
    Stack,
    StackError,
)
from harness.stack.local import Progress
from harness.stack.state import read_state

__all__ = [
    "LifecycleUnsupported",
    "ServiceNotReady",
    "ServiceState",
    "ServiceStatus",
    "Stack",
    "StackError",
    "attach",
    "open_stack",
]


def _containers() -> Any:
    try:
        return importlib.import_module("harness.stack.containers")
    except ModuleNotFoundError as exc:
        if exc.name != "harness.stack.containers":
            raise
        raise StackError(
            "the containers provider is not installed in this tree (harness/stack/containers.py)"
        ) from None


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
        return _containers().open_stack(  # type: ignore[no-any-return]
            profile, progress=progress, owner_pid=owner_pid, config_dir=config_dir
        )
    from harness.stack.local import LocalStack

    return LocalStack.create(profile, config_dir=config_dir, owner_pid=owner_pid, progress=progress)


def attach(state_path: str | os.PathLike[str], *, progress: Progress | None = None) -> Stack:
    """Operate the running stack described by ``state_path`` (a state file or a link to one)."""
    path = Path(state_path)
    state = read_state(path)
    if state.provider == "containers":
        return _containers().attach(path, progress=progress)  # type: ignore[no-any-return]
    if state.provider != "local":
        raise StackError(f"{path}: cannot attach to a {state.provider!r} stack")
    from harness.stack.local import LocalStack

    return LocalStack.attach(path.resolve(), progress=progress)
