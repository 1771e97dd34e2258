"""Locust event listeners of the ``load/`` files: build the plan at init, judge at quit.

At quit the master (or the single process) judges its stats against the profile's objectives
(:func:`harness.load.slo.judge`) and sets Locust's ``process_exit_code``: 0 when every objective
holds (even if a few requests failed within the error budget), 1 when one does not, 2 when the
run could not start. ``HARNESS_LOAD_SUMMARY=PATH`` writes the figures and the verdict as JSON
for the harness. Imported only inside the Locust process.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import gevent.event
import gevent.lock
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import StatsEntry

from harness.load.figures import LoadFigures, RouteFigures
from harness.load.plan import PLAN_ENV, Plan, build, profile_from_env
from harness.load.slo import Thresholds, judge
from harness.load.state import STATE
from harness.profile import ProfileError
from harness.scope import OutOfScope

SUMMARY_ENV = "HARNESS_LOAD_SUMMARY"
log = logging.getLogger("harness.load")
# Set once the init event is done: a worker may get its users before its plan is built.
READY = gevent.event.Event()


def _stop(environment: Environment, reason: str) -> None:
    log.error("harness load: %s", reason)
    environment.process_exit_code = 2
    if environment.runner is not None:
        environment.runner.quit()


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    try:
        _prepare(environment)
    finally:
        READY.set()


def _prepare(environment: Environment) -> None:
    try:
        STATE.profile = profile_from_env()
    except ProfileError as exc:
        _stop(environment, str(exc))
        return
    if isinstance(environment.runner, MasterRunner):
        return  # the master runs no user: only the workers need the journeys
    if not environment.host:
        if not isinstance(environment.runner, WorkerRunner):
            _stop(environment, "no target: give --host URL")
        return  # a worker learns the host from the master's first spawn message
    _build(environment)


_BUILDING = gevent.lock.Semaphore()


def plan_late(environment: Environment) -> None:
    """Build the plan on a worker that got the host from its master, once."""
    with _BUILDING:
        if STATE.plan is None and STATE.failed is None:
            _build(environment)


def _build(environment: Environment) -> None:
    host = environment.host or ""
    given = os.environ.get(PLAN_ENV)
    try:
        if given:
            STATE.plan = Plan.model_validate_json(Path(given).read_text(encoding="utf-8"))
            if STATE.plan.host.rstrip("/") != host.rstrip("/"):
                raise OutOfScope(f"the plan in {PLAN_ENV} is for {STATE.plan.host}, not {host}")
        else:
            STATE.plan = build(host, STATE.profile)
    except OutOfScope as exc:
        STATE.failed = f"{host} is off the profile's allow-list: {exc}"
        _stop(environment, STATE.failed)
        return
    except Exception as exc:  # noqa: BLE001 - any failure to plan stops the run with its reason
        STATE.failed = f"could not plan the run against {host}: {type(exc).__name__}: {exc}"
        _stop(environment, STATE.failed)
        return
    plan = STATE.plan
    if not plan.read_paths and not plan.api_paths and not plan.login_path:
        STATE.failed = "no journey has a path the target answers: " + "; ".join(plan.notes)
        _stop(environment, STATE.failed)
        return
    log.info(
        "harness load: %d read paths, %d API paths, login %s%s",
        len(plan.read_paths),
        len(plan.api_paths),
        "yes" if plan.can_login else "no",
        f", safe mode capped at {plan.rate_cap:g} rps" if plan.rate_cap else "",
    )
    for note in plan.notes:
        log.info("harness load: %s", note)


def figures_of(environment: Environment, own: set[str] | None = None) -> LoadFigures:
    """The run's figures; ``own``: 'METHOD name' of routes with an objective of their own,
    left out of the common percentiles."""
    stats = environment.stats
    total = stats.total
    common = None
    if own:
        common = StatsEntry(stats, "common", "")
        for entry in stats.entries.values():
            if f"{entry.method} {entry.name}" not in own:
                common.extend(entry)
    duration = max(0.001, (total.last_request_timestamp or total.start_time) - total.start_time)
    routes = [
        RouteFigures(
            name=entry.name,
            method=entry.method or "",
            requests=entry.num_requests,
            failures=entry.num_failures,
            p50_ms=entry.get_response_time_percentile(0.5) or 0.0,
            p95_ms=entry.get_response_time_percentile(0.95) or 0.0,
            p99_ms=entry.get_response_time_percentile(0.99) or 0.0,
            max_ms=entry.max_response_time or 0.0,
        )
        for entry in stats.entries.values()
    ]
    return LoadFigures(
        duration_s=duration,
        requests=total.num_requests,
        failures=total.num_failures,
        rps=total.num_requests / duration,
        p50_ms=total.get_response_time_percentile(0.5) or 0.0,
        p95_ms=total.get_response_time_percentile(0.95) or 0.0,
        p99_ms=total.get_response_time_percentile(0.99) or 0.0,
        routes=routes,
        errors=[
            f"{e.method} {e.name}: {e.error} ({e.occurrences}x)" for e in stats.errors.values()
        ],
        common_p95_ms=(common.get_response_time_percentile(0.95) or 0.0) if common else None,
        common_p99_ms=(common.get_response_time_percentile(0.99) or 0.0) if common else None,
    )


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.process_exit_code == 2:
        return
    limits = Thresholds.from_profile(STATE.profile)
    figures = figures_of(environment, set(limits.route_p95_ms))
    verdict = judge(figures, limits)
    environment.process_exit_code = 0 if verdict.ok else 1
    log.info("harness load: %s", verdict.summary)
    for problem in verdict.problems:
        log.error("harness load: SLO missed: %s", problem)
    target = os.environ.get(SUMMARY_ENV)
    if target:
        data = {"figures": figures.model_dump(), "verdict": verdict.model_dump()}
        Path(target).write_text(json.dumps(data, indent=2), encoding="utf-8")
