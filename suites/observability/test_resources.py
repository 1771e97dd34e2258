"""OBS-08: the process's CPU, memory and open files in /metrics, and an error counter.

The error-rate half (a counter with a 5xx status moves when the app answers 5xx) is judged by
OBS-01's outage drill, ``test_metrics.py::test_metrics_count_server_errors``, which carries both
controls: one drill, two verdicts, instead of stopping a dependency twice.
"""

from __future__ import annotations

import pytest

from harness.loopback import source
from harness.probes import metrics, resources
from harness.probes.bounded import fetch
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack

SOURCE = source(62)
# Enough requests for a measurable CPU tick (10 ms granularity), sent until it moves.
BATCH = 25
MAX_BATCHES = 8


@pytest.mark.control("OBS-08")
def test_resource_metrics(target, obs, evidence):
    path = target.profile.target.metrics_path
    if not path:
        raise NotApplicable("the profile names no metrics_path")
    names = target.profile.roadmap.resource_metrics
    probe_path = obs.metrics_probe_path or target.profile.target.live_path
    # Anonymous on purpose: a scraper holds no user credential.
    with target.client(local_address=SOURCE) as client:
        before = metrics.scrape(client, path)
        assert before.ok, f"GET {before.url}: not a valid Prometheus exposition: {before.error}"
        sent = 0
        for _ in range(MAX_BATCHES):
            answered = [fetch(client, "GET", probe_path, total_s=5).status for _ in range(BATCH)]
            sent += sum(1 for status in answered if status)
            after = metrics.scrape(client, path)
            verdict = resources.judge(before, after, names)
            if verdict.cpu_delta_s is None or verdict.cpu_delta_s > 0:
                break
        evidence.http(client.get(path), "metrics exposition (after the probe traffic)")
    assert after.ok, f"GET {after.url}: not a valid Prometheus exposition: {after.error}"
    evidence.json(
        "resource readings",
        {"probe_path": probe_path, "requests_sent": sent, **verdict.model_dump()},
    )
    for reading in verdict.readings:
        if reading.value is not None:
            evidence.figure(reading.role, reading.value, reading.family)
    assert verdict.ok, f"{after.url}: " + "; ".join(verdict.problems)
