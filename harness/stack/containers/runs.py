"""A run's engine objects by label: removing one run, and reaping runs whose owner died.

Everything the containers provider creates carries the label ``harness.run=<run id>`` (and
``harness.run_dir``), so a later process can find and remove what a dead run left behind.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.stack import images as image_tools
from harness.stack.base import StackError
from harness.stack.state import read_state

LABEL_RUN = "harness.run"
LABEL_RUN_DIR = "harness.run_dir"
LABEL_SERVICE = "harness.service"
LABEL_PROFILE = "harness.profile"


def remove_run(engine: image_tools.Engine, run_id: str) -> None:
    """Remove every container, network and volume labelled ``harness.run=<run_id>``."""
    client = engine.client
    selector = {"label": f"{LABEL_RUN}={run_id}"}
    # sparse: no per-container inspect, which races with other processes removing theirs.
    containers = client.containers.list(all=True, sparse=True, filters=selector)

    def remove(container: Any) -> None:
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)

    with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
        list(pool.map(remove, containers))
    for network in client.networks.list(filters=selector):
        with contextlib.suppress(Exception):
            network.remove()
    for volume in client.volumes.list(filters=selector):
        with contextlib.suppress(Exception):
            volume.remove(force=True)


def _run_is_orphan(run_dir: str | None, include_detached: bool) -> bool:
    from harness.stack.reaper import owner_alive

    if not run_dir:
        return True
    path = Path(run_dir) / "state.json"
    if not path.exists():
        # A start-up writes its state before it creates anything, so no state file means
        # the run dir is gone (harness down, or the run-dir reaper found its owner dead).
        return not Path(run_dir).exists() or time.time() - Path(run_dir).stat().st_mtime > 600
    try:
        state = read_state(path)
    except StackError:
        return True
    if state.owner is None:
        return include_detached
    return not owner_alive(state)


def reap_orphans(
    *, include_detached: bool = False, engine: image_tools.Engine | None = None
) -> list[str]:
    """Remove the containers, networks and volumes of runs whose owner died (by label);
    return their run ids. A no-op when no engine answers."""
    if engine is None:
        try:
            engine = image_tools.connect(timeout=30)
        except image_tools.EngineUnavailable:
            return []
    client = engine.client
    runs: dict[str, str | None] = {}
    for kind in (
        client.containers.list(all=True, sparse=True, filters={"label": LABEL_RUN}),
        client.networks.list(filters={"label": LABEL_RUN}),
        client.volumes.list(filters={"label": LABEL_RUN}),
    ):
        for item in kind:
            labels = item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels") or {}
            run_id = labels.get(LABEL_RUN)
            if run_id and (run_id not in runs or runs[run_id] is None):
                runs[run_id] = labels.get(LABEL_RUN_DIR)
    reaped = []
    for run_id, run_dir in sorted(runs.items()):
        if _run_is_orphan(run_dir, include_detached):
            remove_run(engine, run_id)
            if run_dir:
                shutil.rmtree(run_dir, ignore_errors=True)
            reaped.append(run_id)
    return reaped
