"""Drills under traffic: OPS-02 rollback, OPS-04 dependency outages, OPS-06 graceful shutdown.

Each drill runs the prober (harness.drills.prober) over its whole length: the steady state is
checked before (a target that is not healthy before cannot be judged: not_evaluated), then the
method, then the rollbacks that always run, then the steady state again. Thresholds come from
the profile's ``[resilience]`` table; every drill needs lifecycle operations, so a target the
harness did not start is not_applicable.
"""

from __future__ import annotations

import pytest

from harness.drills import traffic_shutdown
from harness.drills.prober import ProbeCall, Prober, Sample
from harness.drills.traffic_frame import Drill
from harness.loopback import source
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

PROBER_SOURCE = source(150)
READY_SOURCE = source(151)
STEADY_S = 1.5
# How long a dependency stays stopped: readiness checks time out in 1-2 s on most targets.
OUTAGE_S = 5.0


def _managed(target) -> None:
    if not target.profile.manages_stack:
        raise NotApplicable(
            "the harness did not start this target: the drill stops, starts and redeploys "
            "services, which only a stack the harness runs allows"
        )


def _anonymous_prober(target, client, paths: list[str]) -> Prober:
    settings = target.profile.resilience
    calls = [ProbeCall(path=p) for p in paths]
    if settings.release_path:
        calls.append(ProbeCall(path=settings.release_path, release_field=settings.release_field))
    return Prober(
        lambda method, path, kwargs: client.request(method, path, **kwargs),
        calls,
        interval_s=settings.prober_interval_s,
    )


def _steady_or_stop(drill: Drill, budget: int) -> None:
    check = drill.steady("before", STEADY_S, budget)
    if not check.held:
        raise NotEvaluated(f"the steady state did not hold before the drill: {check.detail}")


@pytest.mark.disruptive
@pytest.mark.control("OPS-06")
def test_inflight_requests_finish_on_sigterm(target, stack, resilience, attach_drill):
    _managed(target)
    operation = resilience.inflight_operation
    if not operation:
        raise NotApplicable(
            "the profile names no route that reads a request body (resilience.inflight_operation)"
        )
    service = target.profile.target.app_service
    url = stack.url(resilience.inflight_url) if resilience.inflight_url else target.base_url
    budget = resilience.error_budget
    with target.client(local_address=PROBER_SOURCE) as client:
        drill = Drill("graceful shutdown", _anonymous_prober(target, client, []))
        drill.rollback(f"start {service}", lambda: stack.start(service))
        with drill.prober:
            _steady_or_stop(drill, budget)
            offset = drill.prober.now()
            try:
                with drill.step(f"SIGTERM to {service}, {resilience.inflight_requests} in flight"):
                    result = traffic_shutdown.drill(
                        target.guard,
                        url,
                        operation,
                        sigterm=lambda: stack.stop(service),
                        count=resilience.inflight_requests,
                        verify=target.verify,
                    )
            finally:
                failed_rollbacks = drill.run_rollbacks()
            after = drill.steady("after", STEADY_S, budget)
    held = [
        Sample(
            t=offset + h.sent_s,
            kind="write",
            method=operation.split(" ")[0],
            path=operation.split(" ", 1)[-1],
            status=h.status or 0,
            latency_ms=((h.ended_s or h.sent_s) - h.sent_s) * 1000,
            error=h.error or (h.outcome if h.outcome != "answered" else None),
        )
        for h in result.held
    ]
    drill.report.figures = {
        "requests in flight at SIGTERM": len(result.in_flight),
        "in-flight requests dropped": len(result.dropped),
        "requests confirmed in flight (100 Continue)": len(result.confirmed),
        "stop time": result.stop_s or 0.0,
    }
    drill.report.notes.append(result.model_dump_json())
    attach_drill(
        drill,
        held,
        units={
            "requests in flight at SIGTERM": "requests",
            "in-flight requests dropped": "requests",
            "requests confirmed in flight (100 Continue)": "requests",
        },
    )
    in_flight, dropped = result.in_flight, result.dropped
    if not in_flight:
        raise NotEvaluated(
            f"none of {len(result.held)} requests to {operation} was in flight at SIGTERM "
            f"(answered before their body: {sum(h.early for h in result.held)}; refused: "
            f"{sum(h.outcome == 'refused' for h in result.held)}): the route does not wait for "
            "its body, name another one in resilience.inflight_operation"
        )
    ways = sorted({h.outcome if h.outcome != "answered" else str(h.status) for h in dropped})
    assert not dropped, (
        f"{len(dropped)} of {len(in_flight)} requests in flight at SIGTERM were dropped "
        f"({', '.join(ways)}): {service} did not finish them before exiting"
    )
    assert not failed_rollbacks, "rollback failed: " + "; ".join(failed_rollbacks)
    assert after.held, f"the steady state did not return after the drill: {after.detail}"
