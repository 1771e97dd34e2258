"""Drills under traffic: OPS-02 rollback, OPS-04 dependency outages, OPS-06 graceful shutdown
(OPS-05, the blue-green deploy, is in test_bluegreen_drill.py).

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
from harness.probes import health
from harness.probes.outage import dependencies
from harness.stack.base import StackError, Swaps
from harness.verdicts import NotApplicable, NotEvaluated
from suites.resilience.drill_common import (
    OUTAGE_S,
    PROBER_SOURCE,
    READY_SOURCE,
    STEADY_S,
    last_line,
    managed_only,
)

pytestmark = pytest.mark.stack


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
    managed_only(target)
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
                problems.append(
                    f"the target could not go back to release {previous}: {last_line(exc)}"
                )
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
                    problems.append(f"a release swap failed on the target's side: {last_line(exc)}")
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
    managed_only(target)
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
