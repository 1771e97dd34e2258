"""PERF-02..04: one Locust run against the target, judged three ways.

The run (``harness.load``: journeys from the profile and the OpenAPI document, the shape from
``[load]``) happens once per test run, whichever control asks first; each control then judges
its own figures and attaches them, with charts of the run over time:

- PERF-02: latency percentiles, error ratio and throughput against ``[slo]``, over all
  requests and for each route with ``load.min_samples`` requests;
- PERF-03: the app's server-side database connections during the run, held at once and opened;
- PERF-04: the cache hit ratio of the run, from the target's own counters in /metrics.
"""

from __future__ import annotations

import contextlib
import sys

import pytest

from harness.load import cache_replay, judge
from harness.load.charts import charts
from harness.load.overrides import from_env
from harness.load.runner import LoadOptions, LoadRun, run_load
from harness.load.shared import shared_run
from harness.plugin_state import state_of
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack


@pytest.fixture
def load_run(request, target) -> LoadRun:
    out = state_of(request.config).ensure_out() / "load"
    started = target.stack is not None and target.profile.provider != "external"

    capture = request.config.pluginmanager.getplugin("capturemanager")

    def progress(line: str) -> None:
        # Past pytest's capture: a load run takes a while and says how it goes.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print(line, file=sys.stderr, flush=True)

    def make(folder):
        options = LoadOptions.from_target(target, **from_env())
        return run_load(target, folder, options, started=started, echo=progress)

    run = shared_run(out, make)
    return run


def _attach(run: LoadRun, evidence, *chart_names: str) -> None:
    pictures = charts(run)
    for name in chart_names:
        if name in pictures:
            path = run.out_dir / (name.replace(" ", "-") + ".svg")
            path.write_text(pictures[name], encoding="utf-8")
            evidence.file(path, name)
    evidence.json(
        "load run",
        {
            "options": run.options.model_dump(),
            "containment": run.containment,
            "exit code": run.returncode,
            "notes": run.notes,
            "figures": run.figures.model_dump() if run.figures else None,
        },
    )


def _figures_or_stop(run: LoadRun, evidence):
    problem = run.problem()
    if problem:
        evidence.text("Locust output", run.output_tail)
        raise NotEvaluated(problem)
    assert run.figures is not None and run.verdict is not None
    return run.figures, run.verdict


@pytest.mark.control("PERF-02")
def test_latency_slo_under_load(load_run, evidence):
    figures, verdict = _figures_or_stop(load_run, evidence)
    _attach(load_run, evidence, "throughput over time", "latency percentiles over time",
            "error ratio over time")  # fmt: skip
    evidence.figure("load throughput", round(figures.rps, 1), "rps")
    evidence.figure("load p95", figures.p95_ms, "ms")
    evidence.figure("load p99", figures.p99_ms, "ms")
    evidence.figure("load error ratio", round(100 * figures.error_ratio, 2), "%")
    if figures.errors:
        evidence.text("failures", "\n".join(figures.errors))
    assert verdict.ok, "; ".join(verdict.problems) + f" ({verdict.summary})"


@pytest.mark.control("PERF-03")
def test_database_connections_pooled(load_run, evidence, target):
    figures, _ = _figures_or_stop(load_run, evidence)
    passed, message = judge.pool(load_run.db, target.profile.load, figures.requests)
    _attach(load_run, evidence, "database connections over time")
    assert load_run.db is not None
    evidence.figure("database connections held at peak", load_run.db.peak, "connections")
    if load_run.db.opened is not None:
        evidence.figure("database connections opened", load_run.db.opened, "connections")
    evidence.text("verdict", message)
    assert passed, message


@pytest.mark.control("PERF-04")
def test_cache_effective(load_run, evidence, target):
    _figures_or_stop(load_run, evidence)
    figures = load_run.cache
    during = "the run"
    if figures is not None and not figures.error and figures.ratio is None:
        # The run's own reads never reached the cache (a short run on a busy machine can spend
        # itself on logins): replay the plan's authenticated reads, and say so.
        replayed = cache_replay.replay(target, load_run.out_dir / "plan.json")
        if replayed is not None:
            figures, sent = replayed
            during = f"{sent} replayed authenticated reads (the run's own moved no counter)"
            evidence.text(
                "source of the figures",
                f"the load run moved neither cache counter; figures from {sent} replayed "
                "authenticated reads of the run's plan",
            )
    passed, message = judge.cache(figures, target.profile.load, during)
    load_run.cache = figures
    assert load_run.cache is not None
    ratio = load_run.cache.ratio or 0.0
    evidence.figure("cache hit ratio", round(100 * ratio, 1), "%")
    evidence.text("verdict", message)
    assert passed, message
