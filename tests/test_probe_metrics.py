"""harness.probes.metrics against a real prometheus_client registry served over a mock transport."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from harness.probes import metrics


class FakeApp:
    def __init__(self, *, broken: bool = False) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "r", ["method", "route", "status"], registry=self.registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds", "d", ["method", "route"], registry=self.registry
        )
        self.broken = broken
        self.body: bytes | None = None

    def hit(self, route: str, times: int = 1) -> None:
        if self.broken:
            return
        for _ in range(times):
            self.requests.labels("GET", route, "200").inc()
            self.duration.labels("GET", route).observe(0.003)

    def client(self) -> httpx.Client:
        def handler(request: httpx.Request) -> httpx.Response:
            body = self.body if self.body is not None else generate_latest(self.registry)
            return httpx.Response(
                200, content=body, headers={"content-type": "text/plain; version=0.0.4"}
            )

        return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")


def test_counters_and_histogram_move() -> None:
    app = FakeApp()
    app.hit("/health/live", 2)
    client = app.client()
    before = metrics.scrape(client, "/metrics")
    assert before.ok, before.error
    app.hit("/health/live", 7)
    app.hit("/other", 3)
    after = metrics.scrape(client, "/metrics")
    counters = metrics.counter_movements(before, after, {"/health/live"})
    assert counters[0].family == "http_requests" and counters[0].delta == 7
    hist = metrics.histogram_movements(before, after, {"/health/live"})
    assert hist[0].family == "http_request_duration_seconds"
    assert hist[0].delta == 7
    assert hist[0].sum_delta and hist[0].sum_delta > 0
    assert hist[0].problems == []


def test_broken_metrics_do_not_move() -> None:
    app = FakeApp(broken=True)
    client = app.client()
    before = metrics.scrape(client, "/metrics")
    app.hit("/health/live", 7)
    after = metrics.scrape(client, "/metrics")
    assert metrics.counter_movements(before, after, {"/health/live"}) == []
    assert metrics.histogram_movements(before, after, {"/health/live"}) == []


def test_invalid_exposition_is_reported() -> None:
    app = FakeApp()
    app.body = b'# TYPE x counter\nx{a="1" 3\n'
    result = metrics.scrape(app.client(), "/metrics")
    assert not result.ok
    assert result.error and "invalid exposition" in result.error


def test_empty_exposition_is_not_ok() -> None:
    app = FakeApp()
    app.body = b""
    assert not metrics.scrape(app.client(), "/metrics").ok


@pytest.mark.parametrize(
    ("buckets", "count", "expected"),
    [
        ([("0.1", 1), ("1.0", 3), ("+Inf", 3)], 3, None),
        ([("0.1", 3), ("1.0", 1), ("+Inf", 3)], 3, "decrease"),
        ([("0.1", 1), ("1.0", 3)], 3, "+Inf"),
        ([("0.1", 1), ("+Inf", 2)], 3, "differs"),
    ],
)
def test_bucket_problems(buckets: list[tuple[str, int]], count: int, expected: str | None) -> None:
    lines = ["# TYPE h histogram"]
    lines += [f'h_bucket{{route="/r",le="{le}"}} {value}' for le, value in buckets]
    lines += [f'h_count{{route="/r"}} {count}', 'h_sum{route="/r"} 0.5']
    types, samples = metrics.parse_exposition("\n".join(lines) + "\n")
    scrape = metrics.Scrape(url="u", status=200, types=types, samples=samples)
    problems = metrics.bucket_problems(scrape, "h", {"/r"})
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_key_roundtrip_with_commas_in_values() -> None:
    key = metrics.encode_key("x_total", {"route": "/a,b", "status": "200"})
    assert metrics.decode_key(key) == ("x_total", (("route", "/a,b"), ("status", "200")))
