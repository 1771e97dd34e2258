"""Benchmark: wall time of the SEC suite files with two xdist workers against the current stack.

Runs only when asked (``-m benchmark`` or HARNESS_BENCHMARK=1): it starts a nested pytest run of
the hardening tests, which would double the suite's time otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.stack.base import HasState
from harness.verdicts import NotApplicable

HERE = Path(__file__).parent
FILES = [
    "test_headers.py",
    "test_cors.py",
    "test_rate_limit.py",
    "test_input.py",
    "test_injection.py",
    "test_xss.py",
    "test_errors.py",
    "test_tampering.py",
    "test_secrets.py",
    "test_audit.py",
    "test_tls.py",
    "test_csrf.py",
    "test_redirects.py",
    "test_dast.py",
    "test_key_rotation.py",
    "test_sri.py",
]
LIMIT_S = 180.0


@pytest.mark.benchmark
def test_hardening_suite_time(request, stack, capsys):
    selected = "benchmark" in (request.config.getoption("markexpr", "") or "")
    if not selected and os.environ.get("HARNESS_BENCHMARK") != "1":
        pytest.skip("benchmark: run with -m benchmark or HARNESS_BENCHMARK=1")
    state = (stack.state.path if isinstance(stack, HasState) else None) or os.environ.get(
        "HARNESS_STACK_STATE"
    )
    if not state:
        raise NotApplicable("the benchmark attaches to a running stack by its state file")
    # Not the disruptive tests: they wait for an exclusive stack lock this test holds shared.
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "-m",
        "not disruptive",
        "--stack-state",
        str(state),
        *[str(HERE / f) for f in FILES],
    ]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nSEC-01..16 suite with -n 2: {elapsed:.1f} s (limit {LIMIT_S:.0f} s); "
            f"{done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ''}"
        )
    assert elapsed < LIMIT_S, f"hardening suite took {elapsed:.0f} s (limit {LIMIT_S:.0f} s)"
