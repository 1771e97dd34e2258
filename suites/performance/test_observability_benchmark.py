"""Timings of the observability endpoints and of the harness's own log judging.

Marked ``benchmark``: it prints its figures (and records them as run figures) and asserts
nothing about them, so a slow machine never fails a build here; the SLO controls (PERF-02)
judge latency against the profile.
"""

from __future__ import annotations

import statistics
import time

import pytest

from harness import logs
from harness.loopback import source

pytestmark = [pytest.mark.stack, pytest.mark.benchmark]

SOURCE = source(69)
ROUNDS = 5


def _median_ms(client, path: str) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def test_observability_endpoint_timings(target, evidence):
    settings = target.profile.target
    figures: dict[str, float] = {}
    # Anonymous on purpose: health and metrics endpoints are read without a credential.
    with target.client(local_address=SOURCE) as client:
        figures["liveness median"] = _median_ms(client, settings.live_path)
        figures["readiness median"] = _median_ms(client, settings.ready_path)
        if settings.metrics_path:
            figures["metrics scrape median"] = _median_ms(client, settings.metrics_path)
    try:
        lines = target.log_lines(0)
    except pytest.skip.Exception:
        lines = []
    started = time.perf_counter()
    logs.check_lines(lines)
    elapsed = time.perf_counter() - started
    for name, value in figures.items():
        evidence.figure(name, round(value, 1), "ms")
        print(f"benchmark: {name}: {value:.1f} ms")
    if lines:
        rate = len(lines) / elapsed if elapsed > 0 else float(len(lines))
        evidence.figure("log lines judged per second", round(rate), "lines/s")
        print(f"benchmark: judged {len(lines)} log lines in {elapsed * 1000:.1f} ms")
