"""Clean up after stacks whose owner died (a crashed test run, a SIGKILLed ``harness up``).

Every start-up and every ``harness down`` calls :func:`reap_orphans`, so a crash costs at
most one run's worth of processes until the next harness command. A stack started with
``--detach`` has no owner and is left alone unless asked (``harness down`` stops it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from harness.stack import supervisor
from harness.stack.base import StackError
from harness.stack.paths import runs_root
from harness.stack.state import StackState, read_state

# A run dir with no readable state file is a start-up that died before writing it.
STALE_WITHOUT_STATE_S = 600


def owner_alive(state: StackState) -> bool:
    if state.owner is None:
        return True  # detached on purpose
    return supervisor.proc_start_time(state.owner.pid) == state.owner.start_time


def kill_run(run_dir: Path, state: StackState | None) -> None:
    """Stop every process of a run (its groups, then any stray naming the run dir) and
    remove the run dir."""
    records = [r.process for r in (state.services.values() if state else []) if r.process]
    signals = {
        r.process.pid: r.stop_signal
        for r in (state.services.values() if state else [])
        if r.process
    }
    for record in records:
        supervisor.signal_group(record, signals.get(record.pid, signal.SIGTERM))
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(supervisor.group_members(r.pgid) for r in records):
        time.sleep(0.05)
    for record in records:
        for pid in supervisor.group_members(record.pgid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    # Anything that left its group but still runs out of the run dir (it names it in argv).
    supervisor.kill_pids(supervisor.processes_mentioning(str(run_dir)))
    shutil.rmtree(run_dir, ignore_errors=True)


def reap_orphans(root: Path | None = None, *, include_detached: bool = False) -> list[Path]:
    """Tear down every run under ``root`` whose owner is dead; return the run dirs removed."""
    root = root or runs_root()
    reaped: list[Path] = []
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if run_dir.name.startswith(".pg-spare-"):
            continue  # a ready PostgreSQL data dir for the next start-up, not a run
        state_file = run_dir / "state.json"
        try:
            state: StackState | None = read_state(state_file)
        except StackError:
            state = None
        if state is None:
            try:
                age = time.time() - run_dir.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < STALE_WITHOUT_STATE_S:
                continue  # probably a start-up in progress right now
        elif (state.owner is None and not include_detached) or owner_alive(state):
            continue  # detached and not asked for, or its owner still runs
        kill_run(run_dir, state)
        reaped.append(run_dir)
    return reaped
