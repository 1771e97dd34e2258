"""Teardown guarantees: Ctrl-C/SIGTERM in the foreground, and orphans after a SIGKILL.

Each test runs the real ``harness`` CLI in a subprocess with its own run root and pointer
file, so it never touches a developer's running stack (or a colleague's on a shared machine).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness_cli import HARNESS, REPO, run_harness  # tests/ is on sys.path

from harness.stack.state import StackState, read_state
from harness.stack.supervisor import proc_start_time, processes_mentioning

UP_TIMEOUT_S = 90


@pytest.fixture
def isolated_env() -> Iterator[dict[str, str]]:
    # Not under pytest's tmp_path: that is mode 0700 and PostgreSQL's user must traverse it.
    root = Path(tempfile.mkdtemp(prefix="harness-crash-test-", dir="/tmp"))
    root.chmod(0o711)
    env = dict(os.environ)
    env["HARNESS_RUN_ROOT"] = str(root / "runs")
    env["HARNESS_STACK_STATE"] = str(root / "pointer.json")
    try:
        yield env
    finally:
        # Whatever a failed test left behind: stop it by its recorded groups.
        run_harness("down", env=env, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _start_foreground(env: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [*HARNESS, "up"],
        cwd=REPO,  # where run_harness runs the other commands of the test
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("state"):
            return process, Path(line.split(None, 1)[1].strip())
    process.kill()
    pytest.fail("`harness up` did not print its URLs and state file")


def _live_pids(state: StackState) -> list[int]:
    return [
        r.process.pid
        for r in state.services.values()
        if r.process and proc_start_time(r.process.pid) == r.process.start_time
    ]


def test_sigkilled_owner_leaves_no_orphans_after_harness_down(
    isolated_env: dict[str, str],
) -> None:
    process, state_file = _start_foreground(isolated_env)
    state = read_state(state_file)
    run_dir = Path(state.run_dir)
    assert len(_live_pids(state)) == len(state.services)

    process.send_signal(signal.SIGKILL)  # no handler runs: the services are orphaned
    process.wait(timeout=10)
    time.sleep(0.5)
    assert _live_pids(state), "the services died with their owner: nothing to prove"

    down = run_harness("down", env=isolated_env, timeout=60)
    assert down.returncode == 0, down.stderr
    assert "reaped" in down.stderr or "is down" in down.stderr
    assert _live_pids(state) == []
    assert processes_mentioning(str(run_dir)) == []
    assert not run_dir.exists()
    assert not Path(isolated_env["HARNESS_STACK_STATE"]).exists()


def test_next_start_up_reaps_a_crashed_stack(isolated_env: dict[str, str]) -> None:
    process, state_file = _start_foreground(isolated_env)
    crashed = read_state(state_file)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    up = run_harness("up", "--detach", env=isolated_env, timeout=UP_TIMEOUT_S)
    assert up.returncode == 0, up.stderr
    assert _live_pids(crashed) == []
    assert processes_mentioning(crashed.run_dir) == []
    assert not Path(crashed.run_dir).exists()

    status = run_harness("status", "--json", env=isolated_env, timeout=30)
    document = json.loads(status.stdout)
    assert document["profile"] == "reference"
    assert {s["state"] for s in document["services"].values()} == {"running"}
    assert document["services"]["app"]["url"].startswith("https://127.0.0.1:")

    detached = read_state(document["state_file"])
    down = run_harness("down", env=isolated_env, timeout=60)
    assert down.returncode == 0, down.stderr
    assert _live_pids(detached) == []
    assert not Path(detached.run_dir).exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_foreground_up_tears_down_on_signal(isolated_env: dict[str, str], sig: int) -> None:
    process, state_file = _start_foreground(isolated_env)
    state = read_state(state_file)
    process.send_signal(sig)
    assert process.wait(timeout=60) != 0 or True  # any exit; what matters is what is left
    assert _live_pids(state) == []
    assert processes_mentioning(state.run_dir) == []
    assert not Path(state.run_dir).exists()
