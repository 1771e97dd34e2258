"""The blue-green drill (OPS-05) against a fake stack and an in-process target: a clean switch
passes; a green that fails while "ready", a proxy that never switches, a blue that drops held
requests and a failing step each fail it; the rollback always puts blue back."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from harness.drills import traffic_bluegreen
from harness.drills.prober import ProbeCall, Prober
from harness.drills.traffic_frame import Drill
from harness.drills.traffic_shutdown import Held, ShutdownResult
from harness.stack.base import BlueGreen, Instance, StackError


class FakeBlueGreen:
    """Two instances behind a fake proxy; ``warm_up_s``: green answers 503 that long after its
    start though it reported ready (the ready_before_serving fault)."""

    def __init__(self, *, warm_up_s: float = 0.0, switches: bool = True) -> None:
        self.upstream: Instance = "blue"
        self.running = {"blue": True, "green": False}
        self.green_started = 0.0
        self.warm_up_s = warm_up_s
        self.switches = switches
        self.calls: list[str] = []
        self.lock = threading.Lock()

    # -- BlueGreen ---------------------------------------------------------------------------
    def start_green(self, service: str, release: str) -> str:
        self.calls.append(f"start_green {service} {release}")
        self.running["green"] = True
        self.green_started = time.monotonic()
        return "http://127.0.0.1:1"

    def switch(self, proxy: str, service: str, to: Instance) -> float:
        self.calls.append(f"switch {proxy} {to}")
        if self.switches:
            self.upstream = to
        return 0.01

    def stop_instance(self, service: str, which: Instance) -> None:
        self.calls.append(f"stop {which}")
        self.running[which] = False

    def restore_blue(self, proxy: str, service: str) -> list[str]:
        self.calls.append("restore_blue")
        self.running = {"blue": True, "green": False}
        self.upstream = "blue"
        return ["done"]

    # -- the target behind the proxy -----------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        which = self.upstream
        if not self.running[which]:
            return httpx.Response(502, json={"error": "bad gateway"})
        if which == "green" and time.monotonic() - self.green_started < self.warm_up_s:
            return httpx.Response(503, json={"error": "warming up"})
        return httpx.Response(200, json={"release": "2", "instance": which})


def _drill(stack: FakeBlueGreen) -> tuple[Drill, Prober]:
    client = httpx.Client(transport=httpx.MockTransport(stack.handle), base_url="http://t")
    send = traffic_bluegreen.Resend(lambda m, p, kw: client.request(m, p, **kw))
    calls = [ProbeCall(path="/version", release_field="release", instance_field="instance")]
    prober = Prober(send, calls, interval_s=0.005)
    return Drill("blue-green", prober), prober


def _run(stack: FakeBlueGreen, **kwargs) -> traffic_bluegreen.BlueGreenResult:
    drill, prober = _drill(stack)
    with prober:
        prober.wait_for(5, timeout_s=5)
        try:
            return traffic_bluegreen.run(
                drill,
                stack,
                service="app",
                proxy="nginx",
                release="2",
                budget=0,
                drain_s=0.05,
                reads_instance=True,
                watch_s=0.1,
                first_answer_wait_s=1.0,
                **kwargs,
            )
        finally:
            assert not drill.run_rollbacks()


def test_the_fake_is_a_blue_green_stack() -> None:
    assert isinstance(FakeBlueGreen(), BlueGreen)


def test_a_clean_switch_passes_and_blue_is_put_back() -> None:
    stack = FakeBlueGreen()
    result = _run(stack)
    assert result.problems == [] and result.failed == 0 and result.requests > 0
    assert result.instances_seen[-1] == "green"  # blue may not answer: the fake starts at once
    assert result.green_first_answer_s is not None and result.reload_s == 0.01
    assert stack.calls == [
        "start_green app 2",
        "switch nginx green",
        "stop blue",
        "restore_blue",
    ]
    assert stack.upstream == "blue" and stack.running == {"blue": True, "green": False}


def test_a_green_that_is_ready_before_it_serves_fails_the_drill() -> None:
    result = _run(FakeBlueGreen(warm_up_s=0.3))
    assert result.failed > 0 and "503" in result.failed_by_status
    assert any("prober requests failed over the switch" in p for p in result.problems)


def test_a_proxy_that_never_switches_fails_the_drill() -> None:
    result = _run(FakeBlueGreen(switches=False))
    assert any("green never answered" in p for p in result.problems)
    assert result.failed > 0  # blue stopped behind a proxy still pointing at it: 502s


def test_requests_dropped_on_blue_at_sigterm_fail_the_drill() -> None:
    def hold(sigterm) -> ShutdownResult:
        sigterm()
        held = [Held(index=i, confirmed=True, outcome="reset") for i in range(3)]
        return ShutdownResult(held=held, stop_s=0.01)

    result = _run(FakeBlueGreen(), hold=hold)
    assert any("3 of 3 requests in flight on blue at SIGTERM" in p for p in result.problems)
    assert result.stop_s == 0.01


def test_a_failing_step_still_runs_the_rollback() -> None:
    stack = FakeBlueGreen()

    def broken(service: str, release: str) -> str:
        raise StackError("green did not become ready")

    stack.start_green = broken  # type: ignore[method-assign]
    with pytest.raises(StackError):
        _run(stack)
    assert stack.calls[-1] == "restore_blue"


def test_resend_retries_an_idempotent_read_once_on_a_closed_connection() -> None:
    attempts: list[str] = []

    def send(method: str, path: str, kwargs: dict) -> httpx.Response:
        attempts.append(method)
        if len(attempts) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(200)

    resend = traffic_bluegreen.Resend(send)
    assert resend("GET", "/", {}).status_code == 200 and resend.resent == 1
    attempts.clear()
    with pytest.raises(httpx.RemoteProtocolError):
        resend("POST", "/", {})  # never re-sent: not idempotent
    assert attempts == ["POST"]


def test_settle_waits_for_a_target_that_is_still_starting() -> None:
    started = time.monotonic()

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if time.monotonic() - started < 0.4 else 200)

    client = httpx.Client(transport=httpx.MockTransport(handle), base_url="http://t")
    prober = Prober(
        lambda m, p, kw: client.request(m, p, **kw), [ProbeCall(path="/")], interval_s=0.01
    )
    drill = Drill("settle", prober)
    with prober:
        check = drill.settle("before", 0.15, 0, within_s=5)
    assert check.held and len(drill.report.steady) >= 2
    assert not drill.report.steady[0].held and "attempt" in drill.report.steady[-1].label
