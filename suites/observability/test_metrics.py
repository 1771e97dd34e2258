"""OBS-01: the metrics endpoint serves valid Prometheus exposition that moves with traffic."""

from __future__ import annotations

import pytest

from harness.loopback import source
from harness.operations import operations
from harness.probes import metrics, outage
from harness.probes.bounded import fetch
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(61)
SOURCE_5XX = source(131)
# Routes tried for a 5xx during the outage: the first that answers one is probed.
MAX_ROUTES = 6


@pytest.mark.control("OBS-01")
def test_metrics_move_with_traffic(target, obs, evidence):
    path = target.profile.target.metrics_path
    if not path:
        raise NotApplicable("the profile names no metrics_path")
    probe_path = obs.metrics_probe_path or target.profile.target.live_path
    sent = obs.metrics_probe_requests
    # Anonymous on purpose: a scraper holds no user credential.
    with target.client(local_address=SOURCE) as client:
        before = metrics.scrape(client, path)
        evidence.json("scrape before", before.model_dump(exclude={"samples"}))
        assert before.ok, f"GET {before.url}: not a valid Prometheus exposition: {before.error}"
        statuses = []
        for _ in range(sent):
            response = client.get(probe_path)
            statuses.append(response.status_code)
        evidence.http(response, f"one of {sent} probe requests")
        after = metrics.scrape(client, path)
        last = client.get(path)
        evidence.http(last, "metrics exposition (after the probe requests)")
    assert after.ok, f"GET {after.url}: not a valid Prometheus exposition: {after.error}"
    assert all(status < 500 for status in statuses), (
        f"GET {probe_path} answered {statuses}: cannot judge metrics on failing requests"
    )

    paths = {probe_path}
    counters = metrics.counter_movements(before, after, paths)
    histograms = metrics.histogram_movements(before, after, paths)
    evidence.json(
        "movement of series labelled with the probed route",
        {
            "route": probe_path,
            "requests_sent": sent,
            "counters": [m.model_dump() for m in counters],
            "histograms": [m.model_dump() for m in histograms],
        },
    )
    best_counter = counters[0] if counters else None
    evidence.figure("request counter rise", best_counter.delta if best_counter else 0, "requests")

    assert best_counter is not None and best_counter.delta >= sent, (
        f"{after.url}: after {sent} GET {probe_path} requests no counter labelled with that route "
        f"rose by {sent} or more "
        f"({', '.join(f'{m.family}: +{m.delta:g}' for m in counters) or 'no such counter series'})"
    )
    moving = [m for m in histograms if m.delta >= sent]
    assert moving, (
        f"{after.url}: after {sent} GET {probe_path} requests no histogram labelled with that "
        f"route counted them "
        f"({', '.join(f'{m.family}_count: +{m.delta:g}' for m in histograms) or 'no histogram'})"
    )
    latency = moving[0]
    assert latency.sum_delta is not None and latency.sum_delta > 0, (
        f"{after.url}: {latency.family}_sum did not rise after {sent} observed requests"
    )
    assert not latency.problems, f"{after.url}: {latency.family}: " + "; ".join(latency.problems)


@pytest.mark.control("OBS-01")
def test_metrics_count_error_responses(target, obs, evidence):
    """Requests answered 4xx move their series too: metrics that count only successes hide
    exactly the traffic an operator alerts on. (5xx are judged where an outage provokes them,
    OBS-05's drill; here only what any visitor can cause.)"""
    path = target.profile.target.metrics_path
    if not path:
        raise NotApplicable("the profile names no metrics_path")
    sent = obs.metrics_probe_requests
    # Routes a visitor without a credential is refused on: the profile's "who am I" route,
    # then the document's GET operations that declare a security requirement.
    candidates = [target.profile.auth.me_path] if target.profile.auth.me_path else []
    candidates += [
        op.path
        for op in operations(target.openapi)
        if op.method == "GET" and op.secured and not op.path_params
    ]
    # Anonymous on purpose: the 4xx is the refusal of a visitor without a credential.
    with target.client(local_address=SOURCE) as client:
        probe_path = None
        for candidate in dict.fromkeys(candidates):
            first = fetch(client, "GET", candidate, total_s=5)
            if 400 <= first.status < 500:
                probe_path = candidate
                break
        if probe_path is None:
            raise NotEvaluated(
                f"no route answered an anonymous GET with 4xx (tried {len(candidates)}): the "
                "error status class is not judged"
            )
        before = metrics.scrape(client, path)
        assert before.ok, f"GET {before.url}: not a valid Prometheus exposition: {before.error}"
        statuses = [fetch(client, "GET", probe_path, total_s=5).status for _ in range(sent)]
        after = metrics.scrape(client, path)
    assert after.ok, f"GET {after.url}: not a valid Prometheus exposition: {after.error}"
    errors = [status for status in statuses if 400 <= status < 500]
    klass = "4xx"
    counters = metrics.counter_movements(before, after, {probe_path}, status=klass)
    evidence.json(
        "movement of 4xx series labelled with the probed route",
        {
            "route": probe_path,
            "statuses": statuses,
            "counters": [m.model_dump() for m in counters],
        },
    )
    best = counters[0] if counters else None
    evidence.figure("4xx counter rise", best.delta if best else 0, "requests")
    assert best is not None and best.delta >= len(errors), (
        f"{after.url}: after {len(errors)} GET {probe_path} requests answered {klass} no counter "
        f"labelled with that route and a {klass} status rose by {len(errors)} or more "
        f"({', '.join(f'{m.family}: +{m.delta:g}' for m in counters) or 'no such counter series'})"
    )


@pytest.mark.disruptive
@pytest.mark.control("OBS-01", "OBS-08")  # OBS-08: the error counter moves with 5xx
def test_metrics_count_server_errors(target, stack, obs, login, evidence):
    """Requests answered 5xx move a 5xx series: a dependency is stopped (the one outside way to
    a 5xx that is safe on any target the harness started) while one API route is called."""
    path = target.profile.target.metrics_path
    if not path:
        raise NotApplicable("the profile names no metrics_path")
    settings = target.profile.target
    services = outage.stoppable(
        stack, target.profile, obs.outbound_services, "no 5xx can be provoked from outside"
    )
    ops = outage.plain_gets(target.profile, target.openapi, MAX_ROUTES)
    sent = obs.metrics_probe_requests
    session = login(local_address=SOURCE_5XX)
    statuses: list[int] = []
    probe_path = None
    # Anonymous on purpose: readiness and the scrape are read without a user credential.
    with target.client(local_address=SOURCE_5XX) as anonymous:
        wait_ready = outage.ready_again(anonymous, settings.ready_path, obs.ready_recovery_s)
        with outage.outage(stack, services[0], wait_ready) as down:
            for op in ops:
                if fetch(session.client, "GET", op.path, total_s=8).status >= 500:
                    probe_path = op.path
                    break
            if probe_path is not None:
                before = metrics.scrape(anonymous, path)
                statuses = [
                    fetch(session.client, "GET", probe_path, total_s=8).status for _ in range(sent)
                ]
                after = metrics.scrape(anonymous, path)
    session.close()
    if probe_path is None:
        raise NotEvaluated(
            f"no route answered 5xx while {down.service} was stopped (tried {len(ops)}): the "
            "server-error status class is not judged"
        )
    assert before.ok and after.ok, (
        f"GET {after.url} while {down.service} was stopped: not a valid Prometheus exposition "
        f"({before.error or after.error}): 5xx cannot be counted"
    )
    errors = [status for status in statuses if status >= 500]
    counters = metrics.counter_movements(before, after, {probe_path}, status="5xx")
    evidence.json(
        f"movement of 5xx series labelled with the probed route ({down.service} stopped)",
        {
            "route": probe_path,
            "statuses": statuses,
            "counters": [m.model_dump() for m in counters],
            "ready again": down.recovered,
        },
    )
    best = counters[0] if counters else None
    evidence.figure("5xx counter rise", best.delta if best else 0, "requests")
    assert best is not None and best.delta >= len(errors), (
        f"{after.url}: after {len(errors)} GET {probe_path} requests answered 5xx (while "
        f"{down.service} was stopped) no counter labelled with that route and a 5xx status rose "
        f"by {len(errors)} or more "
        f"({', '.join(f'{m.family}: +{m.delta:g}' for m in counters) or 'no such counter series'})"
    )
