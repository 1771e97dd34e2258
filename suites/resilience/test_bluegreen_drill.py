"""Drill under traffic: OPS-05 blue-green deploy.

Green starts beside blue, the proxy switches to it with a graceful reload, blue stops with
requests held on it, and the prober runs over the whole switch (harness.drills.
traffic_bluegreen). It needs a stack the harness runs, a proxy the profile names
(``resilience.proxy_service``) and a provider that can run two instances; elsewhere the control
is not_applicable with the reason.
"""

from __future__ import annotations

import pytest

from harness.drills import traffic_bluegreen, traffic_shutdown
from harness.drills.prober import ProbeCall, Prober
from harness.drills.traffic_frame import Drill
from harness.stack.base import BlueGreen, LifecycleUnsupported, StackError
from harness.verdicts import NotApplicable, NotEvaluated
from suites.resilience.drill_common import (
    PROBER_SOURCE,
    SETTLE_S,
    STEADY_S,
    last_line,
    managed_only,
)

pytestmark = pytest.mark.stack


@pytest.mark.disruptive
@pytest.mark.control("OPS-05")
def test_blue_green_switch_fails_no_request(target, stack, resilience, attach_drill, evidence):
    managed_only(target)
    if not resilience.proxy_service:
        raise NotApplicable(
            "the profile names no proxy to switch between the app's instances "
            "(resilience.proxy_service)"
        )
    if not isinstance(stack, BlueGreen):
        raise NotApplicable(f"the {target.profile.provider} provider cannot run two instances")
    service, proxy = target.profile.target.app_service, resilience.proxy_service
    release = target.profile.release
    budget = resilience.error_budget
    reads_instance = bool(resilience.release_path and resilience.instance_field)
    operation = resilience.inflight_operation
    blue_url = stack.url(resilience.inflight_url) if resilience.inflight_url else None
    with target.client(local_address=PROBER_SOURCE) as client:
        send = traffic_bluegreen.Resend(lambda m, p, kw: client.request(m, p, **kw))
        calls = [ProbeCall(path=p) for p in [target.profile.target.live_path]]
        if resilience.release_path:
            calls.append(
                ProbeCall(
                    path=resilience.release_path,
                    release_field=resilience.release_field,
                    instance_field=resilience.instance_field,
                )
            )
        prober = Prober(send, calls, interval_s=resilience.prober_interval_s)
        drill = Drill("blue-green deploy", prober)
        hold = None
        if operation and blue_url:
            # Requests held on blue's own listener over its SIGTERM (a proxy buffers bodies).
            def hold(sigterm):
                return traffic_shutdown.drill(
                    target.guard,
                    blue_url,
                    operation,
                    sigterm=sigterm,
                    count=resilience.inflight_requests,
                    verify=target.verify,
                )

        result = None
        problems: list[str] = []
        with prober:
            # The app may have just been restarted (a fault switched on): wait for it to settle.
            before = drill.settle("before", STEADY_S, budget, within_s=SETTLE_S)
            if not before.held:
                raise NotEvaluated(
                    f"the steady state did not hold before the drill within {SETTLE_S:.0f} s: "
                    f"{before.detail}"
                )
            try:
                result = traffic_bluegreen.run(
                    drill,
                    stack,
                    service=service,
                    proxy=proxy,
                    release=release,
                    budget=budget,
                    drain_s=resilience.drain_s,
                    reads_instance=reads_instance,
                    hold=hold,
                )
                problems.extend(result.problems)
            except LifecycleUnsupported:
                raise  # this provider set-up cannot run two instances: not_applicable
            except StackError as exc:
                evidence.text("a blue-green step failed", str(exc))
                problems.append(f"a blue-green step failed on the target's side: {last_line(exc)}")
            finally:
                failed_rollbacks = drill.run_rollbacks()
            after = drill.steady("after (blue again)", STEADY_S, budget)
    problems.extend(f"rollback failed: {f}" for f in failed_rollbacks)
    if result is not None:
        held = result.held
        drill.report.figures = {
            "prober requests over the switch": result.requests,
            "failed prober requests over the switch": result.failed,
            "longest gap over the switch": result.longest_gap_s,
            "green start to ready": result.green_ready_s or 0.0,
            "reload time": result.reload_s if result.reload_s is not None else -1,
            "green first answer after the switch": (
                result.green_first_answer_s if result.green_first_answer_s is not None else -1
            ),
            "blue stop time": result.stop_s or 0.0,
            "requests held on blue at SIGTERM": len(held.in_flight) if held else 0,
            "held requests dropped": len(held.dropped) if held else 0,
            "reads re-sent after a closed keep-alive connection": send.resent,
        }
        drill.report.notes.append(f"instances seen: {' -> '.join(result.instances_seen)}")
        drill.report.notes.append(result.model_dump_json(exclude={"held"}))
        if held is not None:
            drill.report.notes.append(held.model_dump_json())
    requests = {
        "prober requests over the switch": "requests",
        "failed prober requests over the switch": "requests",
        "requests held on blue at SIGTERM": "requests",
        "held requests dropped": "requests",
        "reads re-sent after a closed keep-alive connection": "requests",
    }
    attach_drill(drill, units=requests)
    if not problems and result is not None and not reads_instance:
        raise NotEvaluated(
            "no failed request, but the prober cannot tell which instance answered "
            "(resilience.release_path and resilience.instance_field): green taking over is unproven"
        )
    assert not problems, "; ".join(problems)
    assert after.held, f"the steady state did not hold with blue back: {after.detail}"
