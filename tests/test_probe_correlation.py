"""harness.probes.correlation: ids, echo, log coverage and forwarding."""

from __future__ import annotations

import re

import httpx

from harness.probes import correlation


def test_new_id_is_safe_and_unique() -> None:
    a, b = correlation.new_id("obs"), correlation.new_id("obs")
    assert a != b
    assert re.fullmatch(r"[A-Za-z0-9-]{1,64}", a)


def _response(header_value: str | None) -> httpx.Response:
    headers = {"X-Request-ID": header_value} if header_value is not None else {}
    return httpx.Response(200, headers=headers, request=httpx.Request("GET", "http://t/x"))


def test_echo() -> None:
    assert correlation.echo(_response("abc"), "X-Request-ID", "abc").echoed
    replaced = correlation.echo(_response("generated1234"), "X-Request-ID", "a" * 1024)
    assert not replaced.echoed and not replaced.leaked
    leaked = correlation.echo(_response("a" * 128), "X-Request-ID", "a" * 1024)
    assert leaked.leaked
    assert correlation.echo(_response("x <script>"), "X-Request-ID", "x <script>").leaked
    assert correlation.echo(_response(None), "X-Request-ID", None).received is None


def test_log_coverage() -> None:
    records = [
        {"message": "GET /x", "correlation_id": "rid-1", "path": "/m-123"},
        {"message": "other", "correlation_id": "rid-2"},
        {"message": "slow", "path": "/m-123"},
    ]
    coverage = correlation.log_coverage(records, "rid-1", marker="m-123")
    assert len(coverage.records) == 1
    assert coverage.fields == ["correlation_id"]
    assert coverage.unmarked == [records[2]]


def test_forwarded_filters_time_agent_and_header() -> None:
    recorded = [
        {"time": 10.0, "headers": {"x-request-id": "rid-1", "user-agent": "python-httpx"}},
        {"time": 10.0, "headers": {"X-Request-ID": "rid-1", "User-Agent": "harness"}},
        {"time": 1.0, "headers": {"x-request-id": "rid-1"}},
        {"time": 10.0, "headers": {"x-request-id": "other"}},
        {"time": 10.0, "headers": "garbage"},
    ]
    found = correlation.forwarded(
        recorded, "X-Request-ID", ["rid-1"], since=5.0, exclude_user_agent="harness"
    )
    assert found == [recorded[0]]
    apps = correlation.app_requests(recorded, since=5.0, exclude_user_agent="harness")
    assert len(apps) == 3


def test_fetch_recorded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_mock/requests":
            return httpx.Response(200, json=[{"path": "/a"}, "junk"])
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")
    assert correlation.fetch_recorded(client, "/_mock/requests") == [{"path": "/a"}]
    assert correlation.fetch_recorded(client, "/nothing") == []
