"""The containers provider: a stack definition's services as containers on a Docker-API engine.

- :mod:`.stack`: :class:`ContainersStack`, the stack's lifecycle;
- :mod:`.ops`: the run's engine objects (create, run once, remove a service's container);
- :mod:`.network`: the run's network and where nginx runs;
- :mod:`.files`: what is copied into containers (nginx's config and TLS material);
- :mod:`.runs`: labels, removing a run, reaping runs whose owner died;
- ``python -m harness.stack.containers {bench,reap,images}`` (:mod:`.__main__`).

See docs/containers.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.profile import Profile
from harness.stack.containers.runs import (
    LABEL_PROFILE,
    LABEL_RUN,
    LABEL_RUN_DIR,
    LABEL_SERVICE,
    reap_orphans,
    remove_run,
)
from harness.stack.containers.stack import PROVIDER, ContainersStack
from harness.stack.managed import Progress

__all__ = [
    "LABEL_PROFILE",
    "LABEL_RUN",
    "LABEL_RUN_DIR",
    "LABEL_SERVICE",
    "PROVIDER",
    "ContainersStack",
    "attach",
    "open_stack",
    "reap_orphans",
    "remove_run",
]


def open_stack(
    profile: Profile,
    *,
    progress: Progress | None = None,
    owner_pid: int | None = -1,
    config_dir: Path | None = None,
) -> ContainersStack:
    return ContainersStack.create(
        profile, progress=progress, owner_pid=owner_pid, config_dir=config_dir
    )


def attach(
    state_path: str | os.PathLike[str], *, progress: Progress | None = None
) -> ContainersStack:
    return ContainersStack.attach(state_path, progress=progress)
