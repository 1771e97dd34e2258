"""One load run per test run, shared by PERF-02..04 whichever xdist worker asks first.

The three controls judge the same run (its latency, its database connections, its cache
hits), so it runs once: the first caller runs it under an exclusive file lock in the run's
output folder and writes ``run.json``; the others wait on the lock and read that file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

from harness.load.runner import LoadRun


def shared_run(folder: Path, make: Callable[[Path], LoadRun]) -> LoadRun:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = folder / "run.json"
        if done.is_file():
            return LoadRun.model_validate_json(done.read_text(encoding="utf-8"))
        return make(folder)
