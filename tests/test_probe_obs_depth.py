"""Observability depth: probes judge per dependency, per status class, on error paths, every
secret the harness holds, and the actor's identity (not its presence)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, generate_latest

from harness import logs
from harness.probes import audit, correlation, metrics, outage, secrets, session_ids

AGENT = "harness-test"


def _recorded(*headers: dict[str, str]) -> list[dict[str, Any]]:
    return [{"time": 10.0, "headers": {"user-agent": "python-httpx", **h}} for h in headers]


def test_forwarding_is_judged_per_service() -> None:
    # Two recording services: the app forwards the id to the first and drops it on the second.
    spotify = _recorded({"x-request-id": "rid-1"}, {"x-request-id": "rid-1"})
    slskd = _recorded({}, {"x-api-key": "k"})
    results = [
        correlation.service_forwarding(
            name, recorded, "X-Request-ID", ["rid-1"], since=5.0, exclude_user_agent=AGENT
        )
        for name, recorded in (("spotify", spotify), ("slskd", slskd))
    ]
    # Pooled, the one service that keeps the id hides the one that drops it.
    assert any(r.forwarded for r in results)
    problems = correlation.forwarding_problems(results, "X-Request-ID")
    assert len(problems) == 1 and problems[0].startswith("slskd: 2 outbound request(s)")


def test_a_service_the_app_did_not_call_is_not_judged() -> None:
    quiet = correlation.service_forwarding(
        "quiet", _recorded(), "X-Request-ID", ["rid-1"], since=5.0, exclude_user_agent=AGENT
    )
    harness_only = correlation.service_forwarding(
        "mock",
        [{"time": 10.0, "headers": {"user-agent": AGENT}}],
        "X-Request-ID",
        ["rid-1"],
        since=5.0,
        exclude_user_agent=AGENT,
    )
    assert not quiet.judged and not harness_only.judged
    assert correlation.forwarding_problems([quiet, harness_only], "X-Request-ID") == []


def test_error_responses_are_judged_in_their_own_status_class() -> None:
    registry = CollectorRegistry()
    requests = Counter("http_requests_total", "r", ["method", "route", "status"], registry=registry)

    def scrape() -> metrics.Scrape:
        text = generate_latest(registry).decode()
        client = httpx.Client(
            transport=httpx.MockTransport(lambda _: httpx.Response(200, text=text)),
            base_url="http://t",
        )
        with client:
            return metrics.scrape(client, "/metrics")

    requests.labels("GET", "/me", "200").inc(3)
    before = scrape()
    # An app that counts successes only: five 401s to /me leave no trace, a 200 does.
    requests.labels("GET", "/me", "200").inc(5)
    after = scrape()
    pooled = metrics.counter_movements(before, after, {"/me"})
    assert pooled[0].delta == 5  # the route's counter moved: the pooled check passes
    assert metrics.counter_movements(before, after, {"/me"}, status="4xx") == []
    requests.labels("GET", "/me", "401").inc(5)
    counted = metrics.counter_movements(before, scrape(), {"/me"}, status="4xx")
    assert counted[0].delta == 5
    assert metrics.status_class([("code", "5XX")]) == "5xx"
    assert metrics.status_class([("route", "/x")]) is None


def _record(level: str) -> str:
    return json.dumps({"time": "t", "level": level, "logger": "app", "message": "m"})


class _FakeStack:
    """A target whose error handler prints a plain traceback, written only while a dependency
    is down: healthy traffic never shows it."""

    def __init__(self) -> None:
        self.services = ["app", "db"]
        self.down: set[str] = set()
        self.log: list[str] = []
        self.calls: list[str] = []

    def stop(self, service: str) -> None:
        self.calls.append(f"stop {service}")
        self.down.add(service)

    def start(self, service: str) -> None:
        self.calls.append(f"start {service}")
        self.down.discard(service)

    def request(self) -> int:
        if "db" in self.down:
            self.log += ["Traceback (most recent call last):", _record("ERROR")]
            return 503
        self.log.append(_record("INFO"))
        return 200


def test_error_paths_are_reached_only_inside_an_outage() -> None:
    stack = _FakeStack()
    assert stack.request() == 200
    assert logs.check_lines(stack.log).ok  # healthy traffic alone: every line parses
    mark = len(stack.log)
    assert outage.dependencies(stack, [None, "db", "cache", "db"]) == ["db"]
    with outage.outage(stack, "db", lambda: (True, 0.5)) as down:
        assert stack.request() == 503
    assert down.recovered and down.recovery_s == 0.5
    assert stack.calls == ["stop db", "start db"]
    check = logs.check_lines(stack.log[mark:])
    assert not check.ok and len(check.bad) == 1


def test_outage_restarts_the_service_when_the_body_fails() -> None:
    stack = _FakeStack()
    try:
        with outage.outage(stack, "db", lambda: (False, 3.0)):
            raise RuntimeError("probe failed")
    except RuntimeError:
        pass
    assert stack.calls == ["stop db", "start db"] and not stack.down


def _audit_line(actor: object, rid: str = "rid-1") -> str:
    return json.dumps(
        {"event": "login", "actor": actor, "outcome": "success", "time": "t", "correlation_id": rid}
    )


def test_audit_actor_must_be_the_user_who_acted() -> None:
    lines = [_audit_line("system"), _audit_line("bob"), _audit_line("user:alice"), _audit_line(7)]
    records = audit.parse(lines)
    # Every record has an actor: the presence check alone passes them all.
    assert all(not r.missing for r in records)
    expected = audit.identities("alice", {"user": {"id": 7, "username": "alice"}})
    assert expected == {"alice", "7"}
    problems = [audit.actor_problem(r, expected) for r in records]
    assert problems[0] and "'system'" in problems[0]
    assert problems[1] and "'bob'" in problems[1]  # the previous user
    assert problems[2] is None and problems[3] is None
    assert audit.actor_problem(records[0], set()) is None  # nobody known: not judged


def test_session_identifiers_the_harness_received_are_secrets() -> None:
    sid = "Qm9vZ2llV29vZ2llU2Vzc2lvbklk0123456789ab"
    signed = f"{sid}.c2lnbmF0dXJlLXBhcnQtMTIz"
    jar = httpx.Cookies()
    jar.set("app_session", signed)
    jar.set("theme", "dark")  # too short to be a credential
    answer = httpx.Response(200, headers=[("set-cookie", f"other_sid={'z' * 20}; Path=/")])
    held = session_ids.received(jar, [answer])
    assert set(held) == {
        "session identifier: cookie app_session",
        "session identifier: cookie app_session (part 1)",
        "session identifier: cookie app_session (part 2)",
        "session identifier: cookie other_sid",
    }
    # An app that logs the bare id (the part before the signature) is caught by the part.
    line = json.dumps({"message": f"session {sid} opened for alice"})
    tokens_only = secrets.SecretScanner({"issued access_token": "a-token-the-provider-issued"})
    assert not tokens_only.scan_text(line, "app log")
    assert secrets.SecretScanner(held).scan_text(line, "app log")


def test_other_login_flows_and_logs_in_front_of_the_app() -> None:
    assert session_ids.other_flows(
        "oauth-pkce", api_login_path="/api/login", has_password_user=True
    ) == ["api"]
    assert session_ids.other_flows("api", api_login_path="/api/login", has_password_user=True) == []
    assert session_ids.other_flows("oauth-pkce", api_login_path=None, has_password_user=True) == []
    services = ["app", "postgres", "redis", "nginx", "idp_mock", "slskd_mock"]
    fronts = session_ids.front_services(
        services,
        app_log_service="app",
        not_the_app=["app", "postgres", "redis", "slskd_mock", "idp_mock", None],
    )
    assert fronts == ["nginx"]
