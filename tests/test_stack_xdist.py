"""One stack per run under xdist: workers share it, the controller owns it and tears it down."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEST_FILE = """
import json, os, time
from pathlib import Path

def _record(stack, name):
    out = Path(os.environ["RECORD_DIR"]) / f"{name}-{os.getpid()}.json"
    out.write_text(json.dumps({"state": str(stack.state_path), "worker": os.getpid(),
                               "owner": stack.state.owner.pid, "url": stack.url("app")}))

def test_a(stack):
    _record(stack, "a")
    time.sleep(1)

def test_b(stack):
    _record(stack, "b")
    time.sleep(1)
"""


def test_workers_share_one_stack_owned_by_the_controller(tmp_path: Path) -> None:
    runs = Path(tempfile.mkdtemp(prefix="harness-xdist-test-", dir="/tmp"))
    runs.chmod(0o711)
    records = tmp_path / "records"
    records.mkdir()
    (tmp_path / "test_shared.py").write_text(TEST_FILE)
    env = dict(os.environ, HARNESS_RUN_ROOT=str(runs / "runs"), RECORD_DIR=str(records))
    env.pop("HARNESS_STACK_STATE", None)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-n",
                "2",
                "-p",
                "xdist",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:harness",
                # The one-process jwtapi stack: sharing, ownership and teardown are the same
                # code for every stack, and the bundled one (PostgreSQL, Redis, two mocks, the
                # app, nginx) only made this test wait for it (14.5 s -> 8.7 s when quiet).
                "--profile",
                "jwt-api",
                "--dist",
                "each",
                "test_shared.py",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        seen = [json.loads(p.read_text()) for p in records.iterdir()]
        assert len(seen) == 4  # --dist each: both tests on both workers
        assert len({s["worker"] for s in seen}) == 2
        assert len({s["state"] for s in seen}) == 1, "workers started separate stacks"
        assert len({s["owner"] for s in seen}) == 1
        assert seen[0]["owner"] not in {s["worker"] for s in seen}  # the controller owns it
        assert not Path(seen[0]["state"]).exists(), "the controller did not tear it down"
        assert [p for p in (runs / "runs").iterdir() if not p.name.startswith(".")] == []
    finally:
        subprocess.run(
            [sys.executable, "-m", "harness", "down"],
            capture_output=True,
            env=dict(env, HARNESS_STACK_STATE=str(runs / "pointer")),
            timeout=60,
            check=False,
        )
        shutil.rmtree(runs, ignore_errors=True)
