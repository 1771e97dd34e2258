"""The verdict functions of PERF-02..04 on figures, and the SVG chart's escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.load import judge
from harness.load.cache_metrics import CacheCounts, CacheFigures, delta
from harness.load.dbconn import DbFigures
from harness.load.figures import LoadFigures, RouteFigures, read_history
from harness.load.slo import Thresholds
from harness.load.slo import judge as judge_slo
from harness.profile import LoadSettings
from harness.report.svg_chart import Series, line_chart
from harness.verdicts import NotApplicable, NotEvaluated

LIMITS = Thresholds(p95_ms=300, p99_ms=1000, error_rate=0.01, min_rps=2, min_samples=20)


def _route(name: str, requests: int, p50: float, p95: float, failures: int = 0) -> RouteFigures:
    return RouteFigures(
        name=name, method="GET", requests=requests, failures=failures,
        p50_ms=p50, p95_ms=p95, p99_ms=p95, max_ms=p95,
    )  # fmt: skip


def _figures(*routes: RouteFigures, rps: float = 20.0, p95: float = 50) -> LoadFigures:
    requests = sum(r.requests for r in routes)
    return LoadFigures(
        duration_s=10, requests=requests, failures=sum(r.failures for r in routes), rps=rps,
        p50_ms=10, p95_ms=p95, p99_ms=p95, routes=list(routes),
    )  # fmt: skip


def test_a_fast_run_passes() -> None:
    verdict = judge_slo(_figures(_route("/a", 100, 10, 40), _route("/b", 5, 12, 30)), LIMITS)
    assert verdict.ok and verdict.judged_routes == 2


def test_a_slow_route_fails_even_when_the_aggregate_holds() -> None:
    verdict = judge_slo(_figures(_route("/a", 200, 10, 40), _route("/slow", 30, 420, 450)), LIMITS)
    assert not verdict.ok
    assert any("/slow" in p and "p95" in p for p in verdict.problems)


def test_a_route_with_few_requests_is_judged_by_its_median() -> None:
    few = _route("/slow", 6, 410, 430)
    verdict = judge_slo(_figures(_route("/a", 200, 10, 40), few), LIMITS)
    assert any("/slow" in p and "median" in p for p in verdict.problems)
    # one slow outlier among few requests says nothing: its median is fast
    outlier = _route("/b", 6, 15, 900)
    assert judge_slo(_figures(_route("/a", 200, 10, 40), outlier), LIMITS).ok


def test_errors_throughput_and_an_empty_run() -> None:
    errors = judge_slo(_figures(_route("/a", 100, 10, 40, failures=5)), LIMITS)
    assert any("error ratio" in p for p in errors.problems)
    slow = judge_slo(_figures(_route("/a", 100, 10, 40), rps=1.0), LIMITS)
    assert any("throughput" in p for p in slow.problems)
    assert not judge_slo(_figures(), LIMITS).ok


def test_pool_verdicts() -> None:
    settings = LoadSettings(db_max_connections=20)
    pooled = DbFigures(samples=40, peak=6, opened=3)
    assert judge.pool(pooled, settings, 300)[0]
    churn = DbFigures(samples=40, peak=9, opened=250)
    passed, message = judge.pool(churn, settings, 300)
    assert not passed and "not reused" in message
    assert not judge.pool(DbFigures(samples=40, peak=25, opened=0), settings, 300)[0]
    with pytest.raises(NotApplicable):
        judge.pool(pooled, LoadSettings(), 300)
    with pytest.raises(NotEvaluated):
        judge.pool(DbFigures(samples=0, error="cannot connect"), settings, 300)


def test_cache_verdicts() -> None:
    settings = LoadSettings(cache_hit_metric="h", cache_miss_metric="m", cache_min_hit_ratio=0.5)
    assert judge.cache(CacheFigures(hits=90, misses=10), settings)[0]
    assert not judge.cache(CacheFigures(hits=0, misses=40), settings)[0]
    with pytest.raises(NotEvaluated):
        judge.cache(CacheFigures(hits=0, misses=0), settings)
    with pytest.raises(NotApplicable):
        judge.cache(CacheFigures(hits=1, misses=1), LoadSettings())
    moved = delta(CacheCounts(hits=5, misses=5), CacheCounts(hits=50, misses=10))
    assert (moved.hits, moved.misses) == (45, 5)
    assert delta("no /metrics", CacheCounts(hits=1, misses=1)).error == "no /metrics"


def test_chart_escapes_what_the_target_named() -> None:
    hostile = '</text><script>alert(1)</script>&"\x01'
    svg = line_chart(
        hostile, [Series(name=hostile, points=[(0, 1), (1, 5), (2, float("nan"))])],
        x_label="s", y_label="ms",
    )  # fmt: skip
    root = ET.fromstring(svg)  # noqa: S314 - our own output: well-formed XML
    assert root.tag.endswith("svg")
    assert "<script>" not in svg and not any(el.tag.endswith("script") for el in root.iter())
    empty = line_chart("empty", [], x_label="s", y_label="n")
    assert ET.fromstring(empty) is not None  # noqa: S314


def test_history_reads_the_aggregated_rows(tmp_path) -> None:
    path = tmp_path / "h.csv"
    path.write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%\n"
        "100,2,,Aggregated,0.0,0.0,N/A,N/A,N/A\n"
        "101,4,GET,/a,3.0,0.0,10,20,30\n"
        "102,4,,Aggregated,8.5,0.5,11,40,90\n"
    )
    points = read_history(path)
    assert [p.t_s for p in points] == [0, 2] and points[1].p95_ms == 40
    assert points[0].p95_ms is None


def test_a_route_with_its_own_objective_is_judged_by_it_alone() -> None:
    limits = LIMITS.model_copy(update={"route_p95_ms": {"POST /login": 1500}})
    login = _route("/login", 30, 300, 700).model_copy(update={"method": "POST"})
    figures = _figures(_route("/a", 200, 10, 40), login).model_copy(
        update={"p95_ms": 650, "common_p95_ms": 40, "common_p99_ms": 60}
    )
    assert judge_slo(figures, limits).ok  # 700 ms is inside the login's own 1500 ms
    assert not judge_slo(figures, LIMITS).ok  # without it, the shared 300 ms applies
    slow = login.model_copy(update={"p95_ms": 1800})
    verdict = judge_slo(_figures(_route("/a", 200, 10, 40), slow), limits)
    assert any("its own p95 objective" in p for p in verdict.problems)


def test_a_declared_counter_without_series_counts_zero() -> None:
    from harness.load.cache_metrics import _total

    types = {"cache_hits": "counter", "cache_misses": "counter"}
    samples = {'cache_misses_total{cache="playlists"}': 4.0}
    assert _total(types, samples, "cache_hits_total") == 0.0
    assert _total(types, samples, "cache_misses_total") == 4.0
    assert _total(types, samples, "cach_hits_total") is None  # a typo is not a zero


def test_a_short_run_is_judged_by_its_median() -> None:
    short = _figures(_route("/a", 10, 20, 900), p95=900)  # one cold request among ten
    assert judge_slo(short, LIMITS).ok
    slow = short.model_copy(update={"p50_ms": 450})
    assert any("median" in p for p in judge_slo(slow, LIMITS).problems)
