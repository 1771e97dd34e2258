"""`harness doctor` and `harness status` as a user runs them (subprocess, isolated pointer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HARNESS = [sys.executable, "-m", "harness"]


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HARNESS, *argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_doctor_lists_prerequisites_with_versions() -> None:
    done = _run(["doctor"], dict(os.environ))
    assert "postgres" in done.stdout and "redis-server" in done.stdout
    assert "nginx" in done.stdout and "python: bridge" in done.stdout
    if done.returncode == 0:
        assert "all required prerequisites of profile 'reference' are present" in done.stdout


def test_doctor_says_what_to_install_and_exits_1(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # nothing on PATH: redis-server, nginx missing
    done = _run(["doctor"], env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MISS redis-server" in done.stdout
    assert "apt-get install -y redis-server" in done.stdout
    assert "required prerequisite(s) missing" in done.stderr


def test_status_without_a_stack(tmp_path: Path) -> None:
    env = dict(os.environ, HARNESS_STACK_STATE=str(tmp_path / "pointer.json"))
    done = _run(["status", "--json"], env)
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"profile": None, "services": {}}
    plain = _run(["status"], env)
    assert plain.returncode == 1 and "no stack running" in plain.stderr
