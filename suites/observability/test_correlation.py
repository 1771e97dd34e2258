"""OBS-04: correlation ids end to end.

A request id the harness chooses is echoed on the response, appears in the app's log records
for that request (every record of the request carries it), and travels on the calls the app
makes to third parties (read back from the stack's recording services). Without an id the app
generates one; an invalid id is replaced, never echoed.
"""

from __future__ import annotations

import secrets
import time

import pytest

from harness import logs
from harness.auth import AuthError
from harness.auth import login as auth_login
from harness.loopback import source
from harness.probes import correlation
from harness.probes.bounded import Fetched, as_response, fetch, unanswered_summary
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(64)


def _recorders(target, obs):
    """(service, base URL) of every stack service that records the requests it receives."""
    found = []
    for service in obs.outbound_services:
        try:
            found.append((service, target.service_url(service)))
        except NotApplicable:
            continue
    return found


@pytest.mark.control("OBS-04")
def test_request_id_is_echoed_logged_and_forwarded(target, obs, app_log, evidence):
    header = target.profile.target.request_id_header
    agent = f"harness-obs04/{secrets.token_hex(4)}"
    started = time.time() - 1.0  # recorder clocks are this machine's; allow for rounding
    ids: dict[str, str] = {}
    echoes = []
    marker = f"obs04-missing-{secrets.token_hex(6)}"
    unanswered: list[Fetched] = []
    # Anonymous on purpose: ids must be handled before (and whatever) authentication.
    with target.client(local_address=SOURCE, headers={"User-Agent": agent}) as client:
        for label, path in (
            ("readiness", target.profile.target.ready_path),
            ("unknown route", f"/{marker}"),
            ("liveness", target.profile.target.live_path),
        ):
            rid = correlation.new_id("obs04")
            response = fetch(client, "GET", path, headers={header: rid})
            if not response.answered:
                # A reset or a timeout: nothing echoed, maybe nothing logged. Recorded; the
                # other requests are judged.
                unanswered.append(response)
                continue
            ids[label] = rid
            evidence.http(as_response(response), f"{label} with {header}")
            echoes.append(correlation.echo(response, header, rid))
    # A login makes the app call its identity provider (token exchange, profile).
    login_rid = correlation.new_id("obs04login")
    if target.profile.auth.flow != "none":
        client = target.client(
            local_address=SOURCE, headers={"User-Agent": agent, header: login_rid}
        )
        try:
            auth_login(target, client=client)
            ids["login"] = login_rid
        except AuthError as exc:
            evidence.text("login failed (its outbound calls are not judged)", str(exc))
        finally:
            client.close()

    records = logs.LogParser.from_settings(target.profile.logs).records(app_log.lines())
    # Only the unknown-route request has a marker of its own (its path) to find its records by.
    coverage = {
        label: correlation.log_coverage(
            records, rid, marker=marker if label == "unknown route" else None
        )
        for label, rid in ids.items()
    }
    per_service: list[correlation.ServiceForwarding] = []
    recorders = _recorders(target, obs)
    # The stack's recording services, not the app: no user credential applies.
    with target.client(local_address=SOURCE) as plain:
        for service, base in recorders:
            recorded = correlation.fetch_recorded(plain, base + obs.outbound_requests_path)
            per_service.append(
                correlation.service_forwarding(
                    service, recorded, header, ids.values(), since=started, exclude_user_agent=agent
                )
            )
    forwarded = [item for r in per_service for item in r.forwarded]
    evidence.json("echo per request", [e.model_dump() for e in echoes])
    dropped = unanswered_summary(unanswered)
    if dropped:
        evidence.text("requests the target did not answer", dropped)
    also = f" ({dropped}; not judged)" if dropped else ""
    if not echoes:
        raise NotEvaluated(f"no request with {header} was answered{also}")
    evidence.json(
        "log records per request id",
        {
            label: {
                "id": c.request_id,
                "records": len(c.records),
                "fields": c.fields,
                "records of the same request without the id": c.unmarked,
            }
            for label, c in coverage.items()
        },
    )
    evidence.log(
        [
            line
            for line in app_log.lines()
            if any(r in line for r in ids.values()) or marker in line
        ],
        "app log records carrying the harness's request ids",
    )
    evidence.json("outbound requests carrying a harness request id", forwarded)

    not_echoed = [e for e in echoes if not e.echoed]
    assert not not_echoed, (
        "; ".join(
            f"GET {e.url}: sent {header}: {e.sent}, the response carries {e.received!r}"
            for e in not_echoed
        )
        + also
    )
    missing = [label for label, c in coverage.items() if not c.records]
    assert not missing, (
        "no app log record carries the request id of: "
        + ", ".join(f"{label} ({ids[label]})" for label in missing)
        + also
    )
    unmarked = coverage["unknown route"].unmarked if "unknown route" in coverage else []
    assert not unmarked, (
        f"{len(unmarked)} log record(s) of GET /{marker} do not carry its request id "
        f"{ids['unknown route']}: {unmarked[0]}"
    )
    if not recorders:
        raise NotApplicable(
            "echo and logs pass; forwarding is not judged: no stack service records the app's "
            f"outbound requests (observability.outbound_services = {obs.outbound_services})"
        )
    judged = [r for r in per_service if r.judged]
    evidence.json(
        "outbound forwarding per service",
        [
            {"service": r.service, "app calls": r.app_calls, "carrying an id": len(r.forwarded)}
            for r in per_service
        ],
    )
    assert judged, (
        "the readiness check and the login made no outbound call that the recording services "
        f"({', '.join(s for s, _ in recorders)}) saw: forwarding cannot be judged"
    )
    # Each service on its own: one that keeps the id must not hide one that drops it.
    problems = correlation.forwarding_problems(per_service, header)
    unjudged = [r.service for r in per_service if not r.judged]
    scope = f"{len(judged)} of {len(per_service)} recording services received app calls" + (
        f" ({', '.join(unjudged)} none: not judged)" if unjudged else ""
    )
    evidence.text("forwarding judged per service", scope)
    assert not problems, f"ids not forwarded ({scope}): " + "; ".join(problems) + also


@pytest.mark.control("OBS-04")
def test_request_id_generated_when_absent(target, app_log, evidence):
    header = target.profile.target.request_id_header
    path = target.profile.target.live_path
    # Anonymous on purpose: ids must be handled before (and whatever) authentication.
    with target.client(local_address=SOURCE) as client:
        first = fetch(client, "GET", path)
        second = fetch(client, "GET", path)
    dropped = unanswered_summary([first, second])
    if dropped:
        raise NotEvaluated(f"no generated id to judge: {dropped}")
    evidence.http(as_response(first), "no request id sent (1)")
    evidence.http(as_response(second), "no request id sent (2)")
    a, b = first.header(header), second.header(header)
    assert a and b, f"GET {first.url} without {header}: the response carries none ({a!r}, {b!r})"
    assert a != b, f"GET {first.url}: two requests got the same generated {header} {a!r}"
    records = logs.LogParser.from_settings(target.profile.logs).records(app_log.lines())
    assert any(logs.mentions(r, a) for r in records), (
        f"GET {first.url}: the generated id {a} is in no app log record"
    )


@pytest.mark.control("OBS-04")
def test_invalid_request_id_is_replaced(target, evidence):
    header = target.profile.target.request_id_header
    path = target.profile.target.live_path
    problems = []
    unanswered = []
    # Anonymous on purpose: ids must be handled before (and whatever) authentication.
    with target.client(local_address=SOURCE) as client:
        for label, value in correlation.INVALID_IDS.items():
            response = fetch(client, "GET", path, headers={header: value})
            if not response.answered:
                unanswered.append(response)  # recorded below; the other values are judged
                continue
            evidence.http(as_response(response), f"invalid {header}: {label}")
            echo = correlation.echo(response, header, value)
            if not echo.received:
                problems.append(f"{label}: the response carries no {header} at all")
            elif echo.echoed or echo.leaked:
                problems.append(
                    f"{label}: {header} {value[:60]!r} came back as {echo.received[:80]!r}"
                )
    dropped = unanswered_summary(unanswered)
    if dropped:
        evidence.text("requests the target did not answer", dropped)
    if len(unanswered) == len(correlation.INVALID_IDS):
        raise NotEvaluated(f"no invalid id could be judged: {dropped}")
    also = f" ({dropped})" if dropped else ""
    assert not problems, f"GET {target.url(path)}: invalid ids not replaced{also}: " + "; ".join(
        problems
    )
