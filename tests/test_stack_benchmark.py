"""Cold and warm ``up`` times (``-m benchmark``; figures in the "harness benchmark" summary).

Cold: an empty cache, so the PostgreSQL template is built first. Warm: the template cached,
which is the everyday case (the target is five seconds). The containers provider is timed
too when a Docker-API engine answers.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.profile import load_profile
from harness.stack import open_stack

WARM_TARGET_S = 5.0


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="harness-bench-", dir="/tmp"))
    root.chmod(0o711)
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.setenv("HARNESS_RUN_ROOT", str(root / "runs"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _timed_up_down(profile_name: str) -> tuple[float, float]:
    stack = open_stack(load_profile(profile_name))
    began = time.monotonic()
    try:
        stack.up()
        up_s = time.monotonic() - began
    finally:
        began_down = time.monotonic()
        stack.down()
    return up_s, time.monotonic() - began_down


Record = Callable[[str, object], None]


@pytest.mark.benchmark
def test_local_cold_and_warm_up(isolated: Path, record_property: Record) -> None:
    cold_up, cold_down = _timed_up_down("reference")
    warm_up, warm_down = _timed_up_down("reference")
    # Shown in the "harness benchmark" section of pytest's summary (xdist workers included).
    record_property(
        "benchmark",
        f"local: cold up {cold_up:.2f} s (builds the PostgreSQL template), "
        f"warm up {warm_up:.2f} s (target {WARM_TARGET_S:.0f} s), "
        f"down {cold_down:.2f}/{warm_down:.2f} s",
    )
    # A loose bound: CI machines under xdist load are slower than the target, but an up that
    # takes several times as long means something regressed (a lost cache, serial starts).
    assert warm_up < WARM_TARGET_S * 4
    # Both runs are gone; what stays is the spare PostgreSQL copy for the next start-up.
    assert [p.name for p in (isolated / "runs").iterdir() if not p.name.startswith(".")] == []


def _engine_reason() -> str | None:
    """Why the containers benchmark cannot run here, or None when it can."""
    if importlib.util.find_spec("harness.stack.containers") is None:
        return "the containers provider (harness/stack/containers/) is not in this tree"
    from harness.stack.doctor import _docker_socket

    engine = _docker_socket()
    if not engine.ok:
        return f"no Docker-API engine: {engine.detail}"
    return None


@pytest.mark.benchmark
def test_containers_cold_and_warm_up(record_property: Record) -> None:
    reason = _engine_reason()
    if reason is None and os.environ.get("HARNESS_BENCH_CONTAINERS", "1") == "0":
        reason = "HARNESS_BENCH_CONTAINERS=0"
    if reason is not None:
        record_property("benchmark", f"containers: skipped ({reason})")
        pytest.skip(reason)
    # Images are cached by the engine, so the first up of a session is the cold one only on
    # a machine that has never built them; it is reported as "first".
    first_up, _ = _timed_up_down("reference-containers")
    warm_up, _ = _timed_up_down("reference-containers")
    record_property("benchmark", f"containers: first up {first_up:.2f} s, warm up {warm_up:.2f} s")
