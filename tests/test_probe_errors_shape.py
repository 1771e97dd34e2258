"""harness.probes.errors_shape: one error shape with the correlation id; 5xx logged."""

from __future__ import annotations

from typing import Any

from harness.probes.errors_shape import (
    ErrorSample,
    judge_5xx_logging,
    judge_shapes,
    key_paths,
)


def _err(
    label: str, status: int, body: Any, rid: str, path: str = "/x", route: str | None = None
) -> ErrorSample:
    return ErrorSample(
        label=label,
        method="GET",
        url=f"https://t{path}",
        path=path,
        route=route,
        status=status,
        content_type="application/json",
        body=body,
        request_id=rid,
        echoed_id=rid,
    )


def _body(rid: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": "c", "message": "m", "correlation_id": rid, **extra}}


def test_key_paths() -> None:
    assert key_paths({"a": {"b": 1, "c": [{"d": 1}]}}) == {"a", "a.b", "a.c"}


def test_consistent_shapes_pass() -> None:
    samples = [
        _err("unknown route", 404, _body("r1"), "r1"),
        _err("validation", 422, _body("r2", details=[{"loc": ["body"]}]), "r2"),
        _err("outage", 503, _body("r3"), "r3"),
    ]
    verdict = judge_shapes(samples)
    assert verdict.problems == []
    assert verdict.id_path == "error.correlation_id"


def test_divergent_shape_and_missing_id_fail() -> None:
    samples = [
        _err("unknown route", 404, _body("r1"), "r1"),
        _err("validation", 422, {"detail": [{"msg": "x"}]}, "r2"),
        _err("method", 405, {"error": {"code": "c", "message": "m", "correlation_id": None}}, "r3"),
        _err("html 500", 500, None, "r4"),
    ]
    problems = judge_shapes(samples).problems
    assert any("422" in p and "lacks error" in p for p in problems)
    assert any("405" in p and "does not carry the correlation id 'r3'" in p for p in problems)
    assert any("500" in p and "not a JSON object" in p for p in problems)


def test_id_in_a_different_place_fails() -> None:
    samples = [
        _err("a", 404, _body("r1"), "r1"),
        _err("b", 404, {"error": {"code": "c", "message": "r2", "correlation_id": "x"}}, "r2"),
    ]
    assert any("not at 'error.correlation_id'" in p for p in judge_shapes(samples).problems)


def test_5xx_logging() -> None:
    handled = _err("db down", 503, _body("r1"), "r1", path="/api/p", route="/api/p")
    unhandled = _err("mock down", 500, _body("r2"), "r2", path="/api/s/1", route="/api/s/{id}")
    silent = _err("mock down 2", 500, _body("r3"), "r3", path="/api/t")
    no_route = _err("x", 502, _body("r4"), "r4", path="/api/u")
    client_error = _err("404", 404, _body("r5"), "r5")
    records = [
        {"level": "INFO", "message": "GET /api/p 503", "correlation_id": "r1", "route": "/api/p"},
        {
            "level": "WARNING",
            "message": "database unavailable",
            "correlation_id": "r1",
            "route": "/api/p",
        },
        {
            "level": "ERROR",
            "message": "unhandled",
            "correlation_id": "r2",
            "route": "/api/s/{id}",
            "exc_info": "Traceback (most recent call last): ...",
        },
        {"level": "INFO", "message": "GET /api/t 500", "correlation_id": "r3", "route": "/api/t"},
        {"level": "ERROR", "message": "bad gateway", "correlation_id": "r4"},
    ]
    verdicts = judge_5xx_logging([handled, unhandled, silent, no_route, client_error], records)
    assert [v.sample.request_id for v in verdicts] == ["r1", "r2", "r3", "r4"]
    assert verdicts[0].problem is None
    assert verdicts[1].problem is None
    assert verdicts[2].problem and "no WARNING/ERROR" in verdicts[2].problem
    assert verdicts[3].problem and "do not name the route" in verdicts[3].problem


def test_500_without_exception_fails() -> None:
    sample = _err("x", 500, _body("r1"), "r1", path="/p")
    records = [{"level": "error", "message": "oops", "correlation_id": "r1", "path": "/p"}]
    verdicts = judge_5xx_logging([sample], records)
    assert verdicts[0].problem and "no exception" in verdicts[0].problem
    records[0]["stack"] = "at foo()"
    assert judge_5xx_logging([sample], records)[0].problem is None


def test_numeric_levels() -> None:
    sample = _err("x", 503, _body("r1"), "r1", path="/p")
    assert (
        judge_5xx_logging([sample], [{"level": 50, "correlation_id": "r1", "path": "/p"}])[
            0
        ].problem
        is None
    )
    assert judge_5xx_logging([sample], [{"level": 20, "correlation_id": "r1", "path": "/p"}])[
        0
    ].problem
