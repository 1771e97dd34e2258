"""Drills under traffic: OPS-02 rollback, OPS-04 dependency outages, OPS-05 blue-green deploy,
OPS-06 graceful shutdown.

Each drill runs the prober (harness.drills.prober) over its whole length: the steady state is
checked before (a target that is not healthy before cannot be judged: not_evaluated), then the
method, then the rollbacks that always run, then the steady state again. Thresholds come from
the profile's ``[resilience]`` table. Every drill needs lifecycle operations: on a target the
harness did not start, OPS-02 runs through the profile's deploy and rollback commands when the
profile allows it (harness.drills.traffic_releases); the others stop, start or duplicate
services, which only a stack the harness runs can do, and are not_applicable there.
"""

from __future__ import annotations

import httpx
import pytest

from harness.drills import (
    traffic_bluegreen,
    traffic_mix,
    traffic_outage,
    traffic_rollback,
    traffic_shutdown,
)
from harness.drills.data_commands import GuardedRunner, endpoint
from harness.drills.prober import ProbeCall, Prober, Sample, read_back
from harness.drills.traffic_frame import Drill
from harness.drills.traffic_releases import (
    CommandReleases,
    ReleaseStepFailed,
    StackReleases,
    external_commands,
)
from harness.guard_process import ProcessGuard
from harness.loopback import source
from harness.probes import health
from harness.probes.outage import dependencies
from harness.stack.base import BlueGreen, LifecycleUnsupported, StackError, Swaps
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

PROBER_SOURCE = source(150)
READY_SOURCE = source(151)
STEADY_S = 1.5
# How long a drill waits for the steady state before it when the app has just (re)started.
SETTLE_S = 30.0
# How long a dependency stays stopped: readiness checks time out in 1-2 s on most targets.
OUTAGE_S = 5.0


def _managed(target) -> None:
    if not target.profile.manages_stack:
        raise NotApplicable(
            "the harness did not start this target: the drill stops, starts and redeploys "
            "services, which only a stack the harness runs allows"
        )


def _releases(target, stack, work) -> StackReleases | CommandReleases:
    """How OPS-02 changes releases here: the stack's swap, or the profile's commands on a
    target the harness did not start (reaching only the target, through the process guard)."""
    if target.profile.manages_stack:
        if not isinstance(stack, Swaps):
            raise NotApplicable(f"the {target.profile.provider} provider cannot swap releases")
        return StackReleases(stack, target.profile.target.app_service)
    deploy, rollback = external_commands(target.profile)
    default_port = 443 if target.base_url.startswith("https") else 80
    runner = GuardedRunner(
        ProcessGuard(target.guard), [endpoint(target.base_url, default_port)], work
    )
    return CommandReleases(deploy, rollback, runner)


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


def _last(exc: Exception) -> str:
    """A failed command's message ends with its output; its last line says why."""
    lines = str(exc).strip().splitlines()
    head = lines[0] if lines else type(exc).__name__
    return head if len(lines) < 2 else f"{head.split(':')[0]} ... {lines[-1].strip()}"


class _Relogin:
    """The prober's logged-in user. A drill outlives short session lifetimes (the reference
    profile's absolute timeout is 40 s), so an answer of 401 logs in again and re-sends once:
    an expired session is the target's policy, not a failed request."""

    def __init__(self, login) -> None:
        self._login = login
        self.session = login(local_address=PROBER_SOURCE)
        self.relogins = 0

    def send(self, method: str, path: str, kwargs: dict) -> httpx.Response:
        response = self.session.request(method, path, **kwargs)
        if response.status_code != 401:
            return response
        try:
            self.session = self._login(local_address=PROBER_SOURCE)
        except Exception:  # noqa: BLE001 - no new session (the app is down): the 401 stands
            return response
        self.relogins += 1
        return self.session.request(method, path, **kwargs)


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
        prober = _anonymous_prober(target, client, [target.profile.target.live_path])
        drill = Drill("graceful shutdown", prober)
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
        "requests not confirmed in flight (not judged)": len(result.unjudged),
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
            "requests not confirmed in flight (not judged)": "requests",
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
    if result.shutdown_seen_s is None and not dropped:
        raise NotEvaluated(
            f"{service} showed no sign of shutting down within 30 s of the stop (its listener "
            "kept accepting): the requests may have finished before SIGTERM, so they prove nothing"
        )
    ways = sorted({h.outcome if h.outcome != "answered" else str(h.status) for h in dropped})
    unjudged = f" ({len(result.unjudged)} more not confirmed in flight, not judged)"
    assert not dropped, (
        f"{len(dropped)} of {len(in_flight)} requests in flight at SIGTERM were dropped"
        f"{unjudged if result.unjudged else ''} "
        f"({', '.join(ways)}): {service} did not finish them before exiting"
    )
    assert not failed_rollbacks, "rollback failed: " + "; ".join(failed_rollbacks)
    assert after.held, f"the steady state did not return after the drill: {after.detail}"


@pytest.mark.disruptive
@pytest.mark.control("OPS-05")
def test_blue_green_switch_fails_no_request(target, stack, resilience, attach_drill, evidence):
    _managed(target)
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
                problems.append(f"a blue-green step failed on the target's side: {_last(exc)}")
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


@pytest.mark.disruptive
@pytest.mark.control("OPS-02")
def test_rollback_drill_meets_rto_without_lost_writes(
    target, stack, resilience, login, attach_drill, evidence, tmp_path
):
    releases = _releases(target, stack, tmp_path)
    previous, current = resilience.previous_release, target.profile.release
    if not previous:
        raise NotApplicable(
            "the profile names no release to roll back to (resilience.previous_release)"
        )
    if previous == current:
        raise NotApplicable(f"resilience.previous_release is the running release ({current})")
    budget = resilience.error_budget
    user = _Relogin(login)
    send = user.send
    document, _ = target.openapi_or_empty()
    mix = traffic_mix.build(target.profile, document, logged_in=True)
    if mix.write is not None:
        # The safe mode (a target the harness did not start) sends no write the profile does
        # not allow (scope.allow_writes): the prober then only reads, and says so.
        refused = target.safety.refusal(mix.write.method, target.url(mix.write.path))
        if refused is not None:
            mix.calls = [call for call in mix.calls if call.kind != "write"]
            mix.notes.append(f"the prober does not write: {refused}")
            mix.write = None
    prober = Prober(send, mix.calls, interval_s=resilience.prober_interval_s, body=mix.body())
    drill = Drill("rollback", prober)
    drill.report.notes.extend(mix.notes)
    problems: list[str] = []
    result = None
    not_evaluated: str | None = None
    rollback_failures: list[str] = []
    with prober:
        try:
            try:
                with drill.step(f"prepare: release {previous}"):
                    drill.rollback(f"release {current} again", lambda: releases.deploy(current))
                    releases.roll_back(previous)
            except (StackError, ReleaseStepFailed) as exc:
                evidence.text(f"release {previous} could not be prepared", str(exc))
                problems.append(f"the target could not go back to release {previous}: {_last(exc)}")
            before = drill.steady("before", STEADY_S, budget) if not problems else None
            if before is not None and not before.held:
                not_evaluated = f"the steady state did not hold before the drill: {before.detail}"
            elif before is not None:
                try:
                    result = traffic_rollback.run(
                        drill,
                        deploy=lambda: releases.deploy(current),
                        roll_back=lambda: releases.roll_back(previous),
                        deployed=current,
                        previous=previous,
                        budget=budget,
                        watch_s=resilience.watch_s,
                        rto_s=resilience.rto_s,
                    )
                    problems.extend(result.problems)
                except (StackError, ReleaseStepFailed) as exc:
                    evidence.text("a release swap failed", str(exc))
                    problems.append(f"a release swap failed on the target's side: {_last(exc)}")
                after = drill.steady(f"after the rollback (release {previous})", STEADY_S, budget)
                if not after.held:
                    problems.append(f"no steady state after the rollback: {after.detail}")
        finally:
            rollback_failures = drill.run_rollbacks()
        problems.extend(f"rollback failed: {f}" for f in rollback_failures)
        final = drill.steady(f"release {current} again", STEADY_S, budget)
    back = read_back(send, prober.samples)
    if releases.transcripts:
        evidence.text("deploy and rollback commands", "\n\n".join(releases.transcripts))
    if result is not None:
        drill.report.figures = {
            "recovery time (RTO)": result.recovery_s if result.recovery_s is not None else -1,
            "deploy time": result.deploy_s or 0.0,
            "rollback time": result.rollback_s or 0.0,
            "writes acknowledged": back.checked,
            "writes lost": len(back.lost),
        }
        drill.report.notes.append(f"trigger: {result.trigger}")
        drill.report.notes.append(f"releases seen: {' -> '.join(result.releases_seen)}")
    drill.report.notes.extend(f"read back without an answer: {u}" for u in back.unanswered)
    drill.report.notes.append(f"the prober logged in again {user.relogins} time(s)")
    attach_drill(drill, units={"writes acknowledged": "writes", "writes lost": "writes"})
    if not_evaluated and not problems:
        raise NotEvaluated(not_evaluated)
    if back.lost:
        problems.append(
            f"{len(back.lost)} of {back.checked} acknowledged writes are gone after the rollback "
            f"(first: {', '.join(back.lost[:3])})"
        )
    assert not problems, "; ".join(problems)
    assert final.held, f"the steady state did not hold at release {current} again: {final.detail}"
    if back.unanswered:
        raise NotEvaluated(
            f"checked {back.checked - len(back.unanswered)} of {back.checked} acknowledged writes: "
            f"the rest were not answered when read back ({back.unanswered[0]})"
        )


@pytest.mark.disruptive
@pytest.mark.control("OPS-04")
def test_dependency_outages_degrade_gracefully(target, stack, resilience, attach_drill):
    _managed(target)
    profile = target.profile
    stores = profile.datastores
    services = dependencies(
        stack,
        [stores.database_service, stores.redis_service, *profile.observability.outbound_services],
    )
    if not services:
        raise NotApplicable(
            "no dependency to stop (datastores.database_service, datastores.redis_service, "
            "observability.outbound_services)"
        )
    always = [profile.target.live_path, *profile.target.static_paths]
    names_map = profile.observability.ready_check_names
    failures: list[str] = []
    recovery: dict[str, float] = {}
    with (
        target.client(local_address=PROBER_SOURCE) as client,
        target.client(local_address=READY_SOURCE, timeout=5.0) as ready_client,
    ):

        def read_ready():
            return health.read(ready_client, profile.target.ready_path)[1]

        for service in services:
            paths = [*always, *resilience.unaffected_paths.get(service, [])]
            prober = Prober(
                lambda m, p, kw: client.request(m, p, **kw),
                [ProbeCall(path=p) for p in paths],
                interval_s=resilience.prober_interval_s,
            )
            drill = Drill(f"{service} outage", prober)
            with prober:
                _steady_or_stop(drill, resilience.error_budget)
                result = traffic_outage.run(
                    drill,
                    service,
                    stop=lambda s=service: stack.stop(s),
                    start=lambda s=service: stack.start(s),
                    read_ready=read_ready,
                    names=health.names_for(service, names_map),
                    budget=resilience.error_budget,
                    outage_s=OUTAGE_S,
                    recovery_s=resilience.recovery_s,
                )
                after = drill.steady("after", STEADY_S, resilience.error_budget)
            if not after.held:
                result.problems.append(f"the steady state did not return: {after.detail}")
            drill.report.figures = {
                "failed requests on unaffected routes": result.failed_unaffected,
                "recovery time": result.recovery_s if result.recovery_s is not None else -1,
            }
            drill.report.notes.append(result.model_dump_json())
            attach_drill(drill, units={"failed requests on unaffected routes": "requests"})
            if result.recovery_s is not None:
                recovery[service] = result.recovery_s
            failures.extend(f"{service}: {p}" for p in result.problems)
    assert not failures, f"checked {len(services)} dependencies: " + "; ".join(failures)
