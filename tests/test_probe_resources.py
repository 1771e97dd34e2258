"""OBS-08's judgement of resource metrics, on exposition text (a real process collector's
output is the positive control; the same text without it, or with a frozen counter, fails)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, generate_latest

from harness.probes.metrics import Scrape, parse_exposition
from harness.probes.resources import judge
from harness.profile.roadmap_section import ResourceMetricNames

NAMES = ResourceMetricNames()


def scrape_of(text: str) -> Scrape:
    types, samples = parse_exposition(text)
    return Scrape(url="http://127.0.0.1/metrics", status=200, types=types, samples=samples)


def own_process(cpu: float | None = None) -> str:
    """This process's real collector output (cpu: overwrite its CPU seconds)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    text = generate_latest(registry).decode()
    if cpu is not None:
        lines = [
            f"process_cpu_seconds_total {cpu}"
            if line.startswith("process_cpu_seconds_total")
            else line
            for line in text.splitlines()
        ]
        text = "\n".join(lines) + "\n"
    return text


def test_a_real_process_collector_passes() -> None:
    verdict = judge(scrape_of(own_process(cpu=1.0)), scrape_of(own_process(cpu=1.25)), NAMES)
    assert verdict.ok, verdict.problems
    assert verdict.cpu_delta_s == 0.25
    assert {r.role for r in verdict.readings if r.value} == {
        "CPU time",
        "resident memory",
        "open files",
    }


def test_no_process_collector_fails_naming_each_family() -> None:
    registry = CollectorRegistry()
    Counter("http_requests", "x", registry=registry).inc()
    text = generate_latest(registry).decode()
    verdict = judge(scrape_of(text), scrape_of(text), NAMES)
    assert not verdict.ok
    assert "process_cpu_seconds" in verdict.problems[0]
    assert "process_open_fds" in verdict.problems[0]


def test_a_frozen_cpu_counter_fails() -> None:
    verdict = judge(scrape_of(own_process(cpu=2.0)), scrape_of(own_process(cpu=2.0)), NAMES)
    assert not verdict.ok and "did not advance" in verdict.problems[0]


def test_implausible_values_fail_and_series_are_summed() -> None:
    text = (
        "# TYPE process_cpu_seconds counter\n"
        'process_cpu_seconds_total{pid="1"} 1\nprocess_cpu_seconds_total{pid="2"} 2\n'
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 10\n"
        "# TYPE process_open_fds gauge\nprocess_open_fds 0\n"
    )
    later = text.replace('{pid="2"} 2', '{pid="2"} 3')
    verdict = judge(scrape_of(text), scrape_of(later), NAMES)
    assert verdict.cpu_delta_s == 1.0
    assert any("below 1 MiB" in p for p in verdict.problems)
    assert any("holds a socket" in p for p in verdict.problems)
