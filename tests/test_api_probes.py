"""The API suite's probes against small targets that show each weakness (and its absence)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import strategies as st
from loopback_server import serving  # tests/ is on sys.path
from openapi_docs import json_body
from schemathesis import openapi as schemathesis_openapi
from schemathesis.core.result import Ok

from harness.api import lifecycle, limits
from harness.api.fuzz import BudgetSpent, OperationFuzzer
from harness.api.run import run_campaign
from harness.api.transport import GuardedSession
from harness.operations.openapi import load
from harness.profile import Profile
from harness.profile.api_section import ApiSettings
from harness.target import Target

# -- API-01/API-02: the fuzzing campaign --------------------------------------------------------

_Q = {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 8}}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tiny", "version": "1"},
    "paths": {
        "/search": {
            "get": {
                "parameters": [_Q],
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
            }
        },
        "/version": {
            "get": {
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}}
            }
        },
        "/items": {"post": {"responses": {"201": {"description": "created"}}}},
    },
}


@contextmanager
def _server(faulty: bool) -> Iterator[tuple[ThreadingHTTPServer, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            seen.append(f"GET {url.path}")
            if url.path == "/search":
                values = parse_qs(url.query, keep_blank_values=True).get("q")
                if values is None or len(values) != 1:
                    return self._answer(422, b"{}")
                q = values[0]
                if faulty and len(q) == 8:  # the edge value of maxLength crashes
                    return self._answer(500, b'{"error": "boom"}')
                return self._answer(200 if len(q) <= 8 else 422, b"[]")
            if url.path == "/version":
                if faulty:
                    return self._answer(203, b"1.0", "text/plain")
                return self._answer(200, b'{"version": "1"}')
            return self._answer(404, b"{}")

        def do_POST(self) -> None:  # noqa: N802
            seen.append(f"POST {self.path}")
            self._answer(201, b"{}")

    with serving(Handler) as server:
        yield server, seen


def _target(port: int, safety: str = "intrusive") -> Target:
    profile = Profile.model_validate(
        {
            "provider": "external",
            "safety": safety,
            "target": {"base_url": f"http://127.0.0.1:{port}"},
            "auth": {"flow": "none"},
        }
    )
    return Target(profile)


@pytest.fixture(params=[False, True], ids=["clean", "faulty"])
def tiny(request: pytest.FixtureRequest) -> Iterator[tuple[bool, Target, list[str]]]:
    with _server(request.param) as (server, seen):
        yield request.param, _target(server.server_address[1]), seen


def test_the_campaign_finds_the_edge_value_crash_and_the_undocumented_status(tiny) -> None:
    faulty, target, _ = tiny
    campaign = run_campaign(target, DOCUMENT, [GuardedSession(target)], ApiSettings(examples=5))
    assert campaign.answered > 0 and len(campaign.operations_checked) == 3
    api01 = campaign.for_control("API-01")
    api02 = campaign.for_control("API-02")
    if not faulty:
        assert not api01 and not api02, campaign.problems
        return
    assert any(p.operation == "GET /search" and p.status == 500 for p in api01)
    # Schemathesis judges the content type only of documented statuses: the status is the finding.
    assert "status_code_conformance" in {p.check for p in api02 if p.operation == "GET /version"}
    # Every failure is reproducible: a curl command and the exchange.
    assert all(p.curl.startswith("curl") and p.cassette["response"]["status"] for p in api01)


def _search_fuzzer(target: Target) -> OperationFuzzer:
    schema = schemathesis_openapi.from_dict(DOCUMENT)
    operation = next(
        r.ok()
        for r in schema.get_all_operations()
        if isinstance(r, Ok) and r.ok().path == "/search"
    )
    return OperationFuzzer(
        operation,
        GuardedSession(target),
        target.base_url,
        timeout_s=1.0,
        on_throttle=lambda _: None,
    )


def test_an_operation_stops_generating_cases_at_its_deadline() -> None:
    # Past the deadline not one more case is drawn (Hypothesis used to draw and discard several
    # hundred before giving up on the rejections) and none is sent.
    fuzzer = _search_fuzzer(_target(9))
    drawn: list[int] = []
    with pytest.raises(BudgetSpent):
        fuzzer._draw(st.integers().map(drawn.append), 50, time.monotonic() - 1, positive=True)
    assert drawn == [] and fuzzer.answered == 0 and not fuzzer.unanswered

    # Cases discarded while generating (a filter that never holds here) stop at the deadline
    # too: without the check, 0.01 s per attempt would run for several seconds.
    def slow_and_discarded(value: int) -> bool:
        time.sleep(0.01)
        return False

    began = time.monotonic()
    with pytest.raises(BudgetSpent):
        fuzzer._draw(st.integers().filter(slow_and_discarded), 50, began + 0.3, positive=True)
    assert time.monotonic() - began < 2.0
    assert fuzzer.answered == 0 and not fuzzer.unanswered


def test_safe_mode_fuzzes_reads_only_and_says_what_it_held_back() -> None:
    with _server(False) as (server, seen):
        target = _target(server.server_address[1], safety="safe")
        campaign = run_campaign(target, DOCUMENT, [GuardedSession(target)], ApiSettings(examples=3))
    assert "POST /items" in campaign.skipped and "needs safety" in campaign.skipped["POST /items"]
    assert not [s for s in seen if s.startswith("POST")]
    assert "checked 2 of 3 operations" in campaign.coverage()


# -- API-08: resource limits --------------------------------------------------------------------

LIMIT_DOC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/notes": {
            "get": {
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            },
            "post": {
                "requestBody": json_body({"title": {"type": "string"}}),
                "responses": {"201": {"description": "ok"}},
            },
        }
    },
}


def _limits_target(capped: bool):
    def send(method: str, path: str, params: dict[str, Any], body: Any) -> tuple[int, int, str]:
        if method == "POST":
            return (413 if capped else 201), 0, ""
        value = int(params["limit"])
        if capped and value > 100:
            return 400, 0, ""
        if value > 2**63:
            return 500, 0, ""
        return 200, min(value, 150), ""

    return send


def test_limits_capped_target_passes_and_unbounded_one_fails() -> None:
    ops = load(LIMIT_DOC).operations
    reads = [o for o in ops if o.method == "GET"]
    writes = [o for o in ops if o.method == "POST"]
    clean = limits.probe(reads, writes, _limits_target(True))
    assert clean.outcomes and not clean.problems
    bad = limits.probe(reads, writes, _limits_target(False))
    found = {o.sent: o.problem for o in bad.problems}
    assert "server error HTTP 500" in found["limit=" + str(10**30)]
    assert "101 items returned, documented maximum 100" in found["limit=101"]
    assert "accepted" in found["a 16 MiB body"]


# -- API-09: stateful consistency ---------------------------------------------------------------


def _store(applies_delete: bool):
    items: dict[int, dict[str, Any]] = {}

    def send(method: str, path: str, body: Any) -> tuple[int, Any, str]:
        if method == "POST":
            ident = len(items) + 1
            items[ident] = {"id": ident, **(body or {})}
            return 201, items[ident], ""
        ident = int(path.rsplit("/", 1)[-1])
        if ident not in items:
            return 404, None, ""
        if method == "DELETE":
            if applies_delete:
                del items[ident]
            return 204, None, ""
        return 200, items[ident], ""

    return send


def test_lifecycle_finds_a_delete_that_is_not_applied() -> None:
    doc = json.loads(json.dumps(LIMIT_DOC))
    item = {
        "parameters": [
            {"name": "note_id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ],
        "responses": {"200": {"description": "ok"}},
    }
    doc["paths"]["/notes/{note_id}"] = {"get": item, "delete": item}
    ops = load(doc).operations
    assert [r.param for r in lifecycle.resources(ops)] == ["note_id"]
    clean = lifecycle.probe(ops, _store(True))
    assert clean.completed and not clean.problems
    bad = lifecycle.probe(ops, _store(False))
    assert "still served" in bad.problems[0].problem


# -- the transport ------------------------------------------------------------------------------


def test_the_guarded_session_refuses_out_of_scope_hosts_and_safe_mode_writes() -> None:
    from harness.safety import NeedsIntrusive
    from harness.scope import OutOfScope

    with _server(False) as (server, seen):
        target = _target(server.server_address[1], safety="safe")
        session = GuardedSession(target)
        with pytest.raises(OutOfScope):
            session.get("http://192.0.2.10/version")
        with pytest.raises(NeedsIntrusive):
            session.post(target.url("/items"))
        assert session.get(target.url("/version")).status_code == 200
    assert seen == ["GET /version"] and session.sent == 1


def test_the_guarded_session_renews_a_credential_the_target_stopped_accepting() -> None:
    from harness.auth.session import Session

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            ok = self.headers.get("Authorization") == "Bearer new"
            self.send_response(200 if ok else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def credential(token: str) -> Session:
        headers = {"Authorization": f"Bearer {token}"}
        return Session(
            target=target, client=target.client(), flow="bearer", credential_headers=headers
        )

    with serving(Handler) as server:
        target = _target(server.server_address[1])
        session = GuardedSession(
            target, credential=credential("old"), relogin=lambda: credential("new")
        )
        assert session.get(target.url("/me"), headers=dict(session.headers)).status_code == 200
        assert session.relogins == 1 and session.sent == 2
        session.close()


def test_the_guarded_session_bounds_the_whole_answer_in_time_and_size() -> None:
    import time

    from harness.api import transport

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            size = {"/drip": 40, "/big": transport.MAX_BODY_BYTES + 1, "/ok": 2}[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                if self.path == "/drip":  # a byte every 0.2 s: each read is quick, the whole slow
                    for _ in range(size):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.2)
                else:
                    self.wfile.write(b"y" * size)
            except OSError:
                pass  # the client hung up, as it should

    with serving(Handler) as server:
        session = GuardedSession(_target(server.server_address[1]))
        url = _target(server.server_address[1]).url
        started = time.monotonic()
        with pytest.raises(transport.AnswerTooSlow):
            session.get(url("/drip"), timeout=1.0)
        assert time.monotonic() - started < 4.0  # the drip alone lasts 8 s
        with pytest.raises(transport.AnswerTooLarge):
            session.get(url("/big"), timeout=10.0)
        streamed = session.get(url("/ok"), timeout=5.0, stream=True)  # as the fuzzer asks
        assert streamed.content == b"yy" and session.get(url("/ok"), timeout=5.0).text == "yy"
        session.close()


def test_the_stateful_phase_stops_at_its_budget() -> None:
    # A machine whose scenarios all run past the budget: the first call past it ends the phase
    # (a rejected scenario used to count as invalid, and Hypothesis generated and discarded
    # scenarios far past the budget before giving up).
    from hypothesis.stateful import RuleBasedStateMachine, rule

    from harness.api.stateful import run_stateful

    asked: list[float] = []

    class Machine(RuleBasedStateMachine):
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {}

        @rule(value=st.integers())
        def call_once(self, value: int) -> None:
            asked.append(time.monotonic())
            self.get_call_kwargs(value)
            time.sleep(0.01)

    class Schema:
        def as_state_machine(self) -> type[RuleBasedStateMachine]:
            return Machine

    class Counting:
        answered = 0
        transport_kwargs: dict[str, Any] = {}

    began = time.monotonic()
    line = run_stateful(Schema(), Counting(), scenarios=10_000, budget_s=0.3)  # type: ignore[arg-type]
    assert line.startswith("stateful phase: "), line
    # Counted, not timed (a wall-clock bound would flake on a loaded machine): past the budget
    # one call is made, the one that stops the phase.
    assert sum(1 for at in asked if at > began + 0.3) <= 1
