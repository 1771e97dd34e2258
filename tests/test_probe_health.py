"""harness.probes.health: readiness layouts, the "always 200" pitfall, polling."""

from __future__ import annotations

import httpx

from harness.probes import health

REFERENCE = {
    "status": "ok",
    "checks": {
        "database": {"status": "ok", "version": "15.4", "required": True},
        "redis": {"status": "ok", "version": "7.0", "required": True},
        "spotify": {"status": "ok", "version": "mock-1", "required": False},
    },
}


def test_reference_layout_is_ready() -> None:
    ready = health.parse_readiness("u", 200, REFERENCE)
    assert [d.name for d in ready.dependencies] == ["database", "redis", "spotify"]
    assert ready.problems() == []
    assert ready.dependency(health.names_for("postgres")).name == "database"  # type: ignore[union-attr]


def test_200_with_unhealthy_required_dependency_fails() -> None:
    body = {
        "status": "degraded",
        "checks": {
            "database": {"status": "fail", "error": "OperationalError", "required": False},
            "redis": {"status": "ok", "version": "7"},
            "cache": {"status": "ok"},
        },
    }
    ready = health.parse_readiness("u", 200, body)
    # An optional dependency may be down under 200; a healthy one must name its version.
    assert ready.problems() == ["dependency 'cache' reports no version"]
    body["checks"]["database"]["required"] = True  # type: ignore[index]
    problems = health.parse_readiness("u", 200, body).problems()
    assert any("HTTP 200 although required dependency 'database'" in p for p in problems)


def test_200_with_overall_down_fails() -> None:
    body = {"status": "DOWN", "components": {"db": {"status": "UP", "details": {"version": "1"}}}}
    problems = health.parse_readiness("u", 200, body).problems()
    assert problems == ["HTTP 200 although the overall status is 'DOWN'"]


def test_list_layout_and_missing_pieces() -> None:
    body = {"dependencies": [{"name": "db", "status": "weird"}, {"name": "cache"}]}
    ready = health.parse_readiness("u", 503, body)
    problems = ready.problems()
    assert "dependency 'db' has an unrecognised status 'weird'" in problems
    assert "dependency 'cache' reports no status" in problems


def test_no_dependencies_is_a_problem() -> None:
    assert (
        "the body reports no dependencies"
        in health.parse_readiness("u", 200, {"status": "ok"}).problems()
    )
    assert health.parse_readiness("u", 200, ["x"]).body_error


def test_names_for_overrides() -> None:
    assert "database" in health.names_for("postgres")
    assert health.names_for("postgres", {"postgres": ["primary"]}) == ["primary"]


def test_read_and_poll() -> None:
    answers = iter([503, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        code = next(answers)
        status = "ok" if code == 200 else "fail"
        return httpx.Response(
            code, json={"status": status, "checks": {"redis": {"status": status, "version": "7"}}}
        )

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")
    reached, elapsed, timeline, last = health.poll(
        lambda: health.read(client, "/ready"),
        lambda r: r.status_code == 200,
        timeout_s=5,
        interval_s=0.01,
    )
    assert reached and last is not None and last.status_code == 200
    assert [code for _, code, _ in timeline] == [503, 503, 200]


def test_poll_times_out_and_records_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")
    reached, _, timeline, last = health.poll(
        lambda: health.read(client, "/ready"), lambda r: True, timeout_s=0.05, interval_s=0.01
    )
    assert not reached and last is None
    assert timeline and timeline[0][1] == 0


def test_non_json_body() -> None:
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, text="OK")), base_url="http://t"
    )
    _, ready = health.read(client, "/ready")
    assert ready.body_error and "not JSON" in ready.body_error
