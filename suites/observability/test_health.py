"""OBS-02: liveness, and readiness that reports each dependency's status and version and
really follows a dependency outage (503 while it is down, 200 again after)."""

from __future__ import annotations

import pytest

from harness.loopback import source
from harness.probes import health
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack

SOURCE = source(62)
# How long readiness may take to notice a stopped dependency (checks time out in ~1-2 s).
DETECT_S = 6.0


@pytest.mark.control("OBS-02")
def test_health_endpoints_report_dependencies(target, evidence):
    settings = target.profile.target
    # Anonymous on purpose: health endpoints are read by probes that hold no credential.
    with target.client(local_address=SOURCE) as client:
        live = client.get(settings.live_path)
        evidence.http(live, "liveness")
        response, ready = health.read(client, settings.ready_path)
        evidence.http(response, "readiness")
    evidence.json("readiness as parsed", ready.model_dump())
    assert live.status_code == 200, f"GET {live.url}: liveness answered {live.status_code}"
    assert ready.status_code == 200, (
        f"GET {ready.url}: readiness answered {ready.status_code} on the healthy stack"
        f" (body status {ready.overall!r})"
    )
    problems = ready.problems()
    assert not problems, f"GET {ready.url}: " + "; ".join(problems)


@pytest.mark.disruptive
@pytest.mark.control("OBS-02")
@pytest.mark.parametrize("kind", ["redis", "database"])
def test_readiness_follows_dependency_outage(kind, target, stack, obs, evidence):
    stores = target.profile.datastores
    service = stores.redis_service if kind == "redis" else stores.database_service
    if not service:
        raise NotApplicable(f"the profile names no {kind} service (datastores.{kind}_service)")
    if service not in stack.services:
        raise NotApplicable(f"service {service!r} is not part of this stack")
    names = health.names_for(service, obs.ready_check_names)
    path = target.profile.target.ready_path

    # Anonymous on purpose: the readiness endpoint is read by probes with no credential.
    with target.client(local_address=SOURCE, timeout=5.0) as client:

        def fetch():
            return health.read(client, path)

        response, before = fetch()
        evidence.http(response, "readiness before the outage")
        assert before.status_code == 200, (
            f"GET {before.url}: readiness is {before.status_code} before {service} was stopped"
        )
        stack.stop(service)
        try:
            went_down, down_s, down_timeline, down_response = health.poll(
                fetch, lambda r: r.status_code == 503, DETECT_S
            )
            if down_response is not None:
                evidence.http(down_response, f"readiness while {service} is stopped")
            # The last answer while down tells whether the body names the failing dependency.
            _, during = fetch()
        finally:
            stack.start(service)
        recovered, up_s, up_timeline, up_response = health.poll(
            fetch, lambda r: r.status_code == 200 and not _unhealthy(r, names), obs.ready_recovery_s
        )
        if up_response is not None:
            evidence.http(up_response, f"readiness after {service} was started again")
    evidence.json(
        f"{service} outage timeline (seconds, HTTP status, body status)",
        {
            "stopped": down_timeline,
            "restarted": up_timeline,
            "readiness while down": during.model_dump(),
        },
    )
    evidence.figure(f"readiness detection time ({service})", round(down_s, 2), "s")
    evidence.figure(f"readiness recovery time ({service})", round(up_s, 2), "s")

    assert went_down, (
        f"GET {before.url}: readiness stayed "
        f"{sorted({code for _, code, _ in down_timeline})} for {DETECT_S:.0f} s while "
        f"{service} was stopped (expected 503); body status {during.overall!r}, checks: "
        + ", ".join(f"{d.name}={d.status}" for d in during.dependencies)
    )
    failing = _unhealthy(during, names)
    assert failing, (
        f"GET {before.url}: readiness went 503 while {service} was stopped, but its body does "
        f"not report {'/'.join(names)} as failing: "
        + ", ".join(f"{d.name}={d.status}" for d in during.dependencies)
    )
    assert recovered, (
        f"GET {before.url}: readiness did not return to 200 within {obs.ready_recovery_s:.0f} s "
        f"after {service} was started again (last: {up_timeline[-1] if up_timeline else None})"
    )


def _unhealthy(ready: health.Readiness, names: list[str]) -> list[health.Dependency]:
    dep = ready.dependency(names)
    return [dep] if dep is not None and dep.healthy is False else []
