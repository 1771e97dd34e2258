"""The real ``harness`` CLI in a subprocess, as the end-to-end tests run it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HARNESS = [sys.executable, "-m", "harness"]


def outer_env() -> dict[str, str]:
    """This process's environment for a run of its own: without the outer pytest's variables
    (its worker, its current test) and without ``HARNESS_STACK_STATE``, which would point the
    inner run at the outer session's stack instead of the one it starts."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_STACK"))}


def run_harness(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``harness ARGS`` from the checkout, output captured; ``env`` defaults to ``outer_env()``.
    Never raises on a failing exit: the tests assert on the return code themselves."""
    return subprocess.run(
        [*HARNESS, *args],
        cwd=REPO,
        env=dict(env) if env is not None else outer_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
