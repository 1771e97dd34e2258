"""The traffic drills' pieces against small in-process targets: the prober and its figures,
the timeline's escaping, the drill frame's rollbacks, the rollback drill's trigger and
recovery, and the OPS-06 shutdown drill against a real uvicorn server, graceful and abrupt."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.drills import timeline, traffic_outage, traffic_rollback, traffic_shutdown
from harness.drills.prober import Event, ProbeCall, Prober, Sample, figures, read_back, recovered_at
from harness.drills.traffic_frame import Drill
from harness.probes.health import Readiness, parse_readiness
from harness.scope import OutOfScope, ScopeGuard, scoped_client

GUARD = ScopeGuard(["127.0.0.0/8"])
HERE = Path(__file__).parent


class FlakyTarget:
    """Answers 200 with its release, or 502 while ``down``; creates objects on POST."""

    def __init__(self) -> None:
        self.release = "1"
        self.down = False
        self.objects: set[int] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(502, json={"error": "bad gateway"})
        if request.method == "POST":
            ident = len(self.objects) + 1
            self.objects.add(ident)
            return httpx.Response(201, json={"id": ident})
        if request.url.path.startswith("/items/"):
            found = int(request.url.path.rsplit("/", 1)[1]) in self.objects
            return httpx.Response(200 if found else 404, json={})
        return httpx.Response(200, json={"release": self.release})


def _prober(target: FlakyTarget, client: httpx.Client) -> Prober:
    calls = [
        ProbeCall(path="/version", release_field="release"),
        ProbeCall(kind="write", method="POST", path="/items"),
    ]
    return Prober(
        lambda m, p, kw: client.request(m, p, **kw),
        calls,
        interval_s=0.005,
        body=lambda n: {"name": f"item {n}"},
    )


def _client(target: FlakyTarget) -> httpx.Client:
    return scoped_client(
        GUARD, transport=httpx.MockTransport(target.handle), base_url="http://127.0.0.1"
    )


def _sample(t: float, status: int, release: str | None = None) -> Sample:
    return Sample(
        t=t, kind="read", method="GET", path="/", status=status, latency_ms=10, release=release
    )


def test_figures_count_failures_gap_and_recovery():
    samples = [_sample(0.0, 200), _sample(1.0, 502), _sample(2.0, 0), _sample(3.0, 200)]
    result = figures(samples)
    assert (result.requests, result.failed) == (4, 2)
    assert result.failed_by_status == {"502": 1, "no answer": 1}
    assert result.longest_gap_s == pytest.approx(3.0, abs=0.01)
    assert result.time_to_recover_s == pytest.approx(2.01, abs=0.01)
    assert recovered_at(samples, 0.5) == pytest.approx(3.01)
    releases = [_sample(0, 200, "2"), _sample(1, 200, "1"), _sample(2, 200, "1")]
    assert recovered_at(releases, 0.0, release="1") == pytest.approx(1.01)
    assert figures(releases).releases == ["2", "1"]


def test_prober_records_every_answer_and_reads_writes_back():
    target = FlakyTarget()
    with _client(target) as client:
        prober = _prober(target, client)
        with prober:
            assert prober.wait_for(10, timeout_s=10)
            prober.mark("down")
            target.down = True
            assert prober.wait_for(4, timeout_s=10)
            target.down = False
            assert prober.wait_for(4, timeout_s=10)
        samples = prober.samples
        seen = figures(samples)
        assert seen.failed >= 4 and seen.writes_acknowledged >= 3
        assert {s.release for s in samples if s.release} == {"1"}
        target.objects.discard(1)  # one acknowledged write vanishes
        back = read_back(lambda m, p, kw: client.request(m, p, **kw), samples)
    assert back.lost == ["/items/1"] and back.checked == seen.writes_acknowledged
    assert [e.label for e in prober.events] == ["down"]


def test_prober_paces_a_call_with_a_minimum_interval():
    target = FlakyTarget()
    calls = [
        ProbeCall(path="/version"),
        ProbeCall(kind="write", method="POST", path="/items", min_interval_s=0.2),
    ]
    with _client(target) as client:
        prober = Prober(lambda m, p, kw: client.request(m, p, **kw), calls, interval_s=0.005)
        with prober:
            time.sleep(0.7)
    writes = [s.t for s in prober.samples if s.kind == "write"]
    reads = [s for s in prober.samples if s.kind == "read"]
    assert 3 <= len(writes) <= 5, writes
    assert all(b - a >= 0.2 for a, b in zip(writes, writes[1:], strict=False)), writes
    assert len(reads) > 3 * len(writes), "the reads keep their own pace"


def test_prober_records_an_unanswered_request_as_status_zero():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with scoped_client(
        GUARD, transport=httpx.MockTransport(refuse), base_url="http://127.0.0.1"
    ) as c:
        prober = Prober(lambda m, p, kw: c.request(m, p, **kw), [ProbeCall(path="/")])
        sample = prober.call(ProbeCall(path="/"), 0)
    assert sample.status == 0 and not sample.ok and "ConnectError" in (sample.error or "")


def test_timeline_escapes_what_the_target_controls():
    hostile = '<script>alert(1)</script>"&'
    svg = timeline.render(
        hostile,
        [_sample(0.1, 200), _sample(0.2, 503), _sample(0.3, 0), _sample(0.4, 404)],
        [Event(t=0.2, label=hostile)],
    )
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and svg.count("<circle") == 4 + 4  # dots + legend


def test_drill_rollbacks_always_run_and_failures_are_recorded():
    target = FlakyTarget()
    ran: list[str] = []
    with _client(target) as client:
        drill = Drill("frame", _prober(target, client))
        drill.rollback("first", lambda: ran.append("first"))
        drill.rollback("broken", lambda: 1 / 0)
        with drill.prober, pytest.raises(RuntimeError), drill.step("method"):
            raise RuntimeError("the method failed")
        failed = drill.run_rollbacks()
    assert ran == ["first"] and failed and "ZeroDivisionError" in failed[0]
    assert [s.name for s in drill.report.steps] == ["method", "rollback: broken", "rollback: first"]
    assert drill.report.steps[0].ok is False


@pytest.mark.parametrize("breaks", [False, True])
def test_rollback_drill_detects_the_breach_and_times_the_recovery(breaks):
    target = FlakyTarget()

    def deploy() -> None:
        target.down = True  # the new release fails: the prober sees 502s
        target.release = "2"

    def roll_back() -> None:
        time.sleep(0.1)
        if not breaks:
            target.release, target.down = "1", False

    with _client(target) as client:
        drill = Drill("rollback", _prober(target, client))
        with drill.prober:
            assert drill.steady("before", 0.1, 0).held
            result = traffic_rollback.run(
                drill,
                deploy=deploy,
                roll_back=roll_back,
                deployed="2",
                previous="1",
                budget=0,
                watch_s=5,
                rto_s=1.0,
            )
    assert result.trigger.startswith("SLO breach")
    if breaks:
        assert result.recovery_s is None and result.problems
    else:
        assert result.recovery_s is not None and result.recovery_s < 1.0 and not result.problems
        assert result.releases_seen[-1] == "1"


def test_rollback_drill_rehearses_when_the_release_holds():
    target = FlakyTarget()
    with _client(target) as client:
        drill = Drill("rollback", _prober(target, client))
        with drill.prober:
            result = traffic_rollback.run(
                drill,
                deploy=lambda: None,
                roll_back=lambda: None,
                deployed="2",
                previous="1",
                budget=0,
                watch_s=0.3,
                rto_s=2.0,
            )
    assert result.trigger.startswith("rehearsal") and not result.problems


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(*flags: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "shutdown_target.py"), str(port), *flags])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("flags", "route", "dropped"),
    [((), "POST /items", False), (("--abrupt",), "POST /items", True), ((), "POST /eager", None)],
    ids=["graceful", "abrupt", "route-answers-early"],
)
def test_shutdown_drill_holds_requests_in_flight_over_sigterm(flags, route, dropped):
    proc, url = _server(*flags)
    try:
        result = traffic_shutdown.drill(
            GUARD,
            url,
            route,
            sigterm=lambda: (proc.send_signal(signal.SIGTERM), proc.wait(20)),
            count=12,
        )
    finally:
        proc.kill()
        proc.wait()
    print(f"{flags} {route}: stop {result.stop_s} s, shutdown seen {result.shutdown_seen_s} s")
    if dropped is None:  # positive control: a route that does not wait is never "in flight"
        assert not result.in_flight and all(h.early for h in result.held)
        return
    assert len(result.in_flight) == 12 and len(result.confirmed) == 12
    assert len(result.dropped) == (12 if dropped else 0)
    if not dropped:
        assert {h.status for h in result.held} == {201}


def test_shutdown_drill_refuses_a_target_outside_the_scope():
    with pytest.raises(OutOfScope):
        traffic_shutdown.drill(
            ScopeGuard(["10.0.0.0/8"]),
            "http://127.0.0.1:9",
            "POST /x",
            sigterm=lambda: None,
            count=1,
        )


class _Dependency:
    """A fake stack service: while stopped, readiness is 503 and (``hard``) every route 503s."""

    def __init__(self, hard: bool) -> None:
        self.hard = hard
        self.up = True

    def route(self, request: httpx.Request) -> httpx.Response:
        if not self.up and self.hard:
            return httpx.Response(503, json={})
        return httpx.Response(200, json={})

    def ready(self) -> Readiness:
        status = "ok" if self.up else "fail"
        return parse_readiness(
            "http://127.0.0.1/ready",
            200 if self.up else 503,
            {"status": status, "checks": {"cache": {"status": status}}},
        )


@pytest.mark.parametrize("hard", [False, True], ids=["degrades", "hard-dependency"])
def test_outage_drill_judges_unaffected_routes_readiness_and_recovery(hard):
    dep = _Dependency(hard)
    with scoped_client(
        GUARD, transport=httpx.MockTransport(dep.route), base_url="http://127.0.0.1"
    ) as client:
        prober = Prober(
            lambda m, p, kw: client.request(m, p, **kw), [ProbeCall(path="/live")], interval_s=0.01
        )
        drill = Drill("cache outage", prober)
        with prober:
            result = traffic_outage.run(
                drill,
                "cache",
                stop=lambda: setattr(dep, "up", False),
                start=lambda: setattr(dep, "up", True),
                read_ready=dep.ready,
                names=["cache"],
                budget=0,
                outage_s=0.4,
                recovery_s=2.0,
            )
    assert result.reflected and result.recovered and result.requests_during > 0
    if hard:
        assert result.failed_unaffected > 0
        assert "failed while it was down" in result.problems[0]
    else:
        assert result.failed_unaffected == 0 and not result.problems
