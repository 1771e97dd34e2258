"""API-07 probe against a small in-process API: a search whose time grows with the square of
its query is caught (and not pushed past the first super-linear step); linear work and a
length refusal pass; an input already slow at the shortest length stops at once."""

from __future__ import annotations

import time
from typing import Any

import httpx

from harness.api.superlinear import SuperlinearProbe, string_inputs
from harness.operations import RequestSpec, operations
from harness.probes.access import send

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/search": {
            "get": {
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}
LENGTHS = (100, 400, 1600)


def _probe(cost: str, sent: list[int]) -> SuperlinearProbe:
    def handler(request: httpx.Request) -> httpx.Response:
        n = len(request.url.params.get("q", ""))
        sent.append(n)
        if cost == "quadratic":
            time.sleep(0.4 * (n / 1600) ** 2)
        elif cost == "linear":
            time.sleep(0.2 * n / 1600)
        elif cost == "slow":
            time.sleep(0.3)
        elif n > 200:
            return httpx.Response(414)
        return httpx.Response(200, json=[])

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t.test")

    def go(spec: RequestSpec) -> httpx.Response:
        return send(client, spec)

    return SuperlinearProbe(go, lengths=LENGTHS, stop_s=0.25)


def _run(cost: str) -> tuple[Any, list[int]]:
    sent: list[int] = []
    inputs = string_inputs(operations(DOCUMENT))
    assert [(op.key, name) for op, name in inputs] == [("GET /search", "q")]
    return _probe(cost, sent).run(inputs, budget_s=30), sent


def test_quadratic_search_is_caught_and_confirmed() -> None:
    report, sent = _run("quadratic")
    (result,) = report.superlinear
    assert result.reason.startswith("400 -> 1600 characters:")
    # Slower than stop_s: one request per measurement, measured again once; nothing longer.
    assert sent.count(1600) == 2 and max(sent) == 1600


def test_linear_work_and_length_refusal_pass() -> None:
    for cost in ("linear", "refused"):
        report, _ = _run(cost)
        assert report.superlinear == [] and len(report.measured) == 1, cost
        assert report.summary().startswith("checked 1 of 1 string inputs")


def test_slow_at_the_shortest_length_stops_without_a_verdict() -> None:
    report, sent = _run("slow")
    (result,) = report.results
    assert result.verdict == "stopped" and sent == [100]
    assert report.measured == []
