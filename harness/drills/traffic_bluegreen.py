"""OPS-05: a blue-green deploy behind the proxy under traffic fails no request.

The running instance of the app is blue. Under the prober the drill starts a second instance,
green, at the release to deploy, and waits for its readiness (what a deploy tool trusts); it
switches the proxy's upstream to green with a graceful reload (the old workers finish the
requests they hold, new ones send every new request to green), lets blue drain, and stops blue
with its stop signal. If the profile names a route that reads a body, requests are held in
flight on blue's own listener over that SIGTERM (as OPS-06 does): a switch that cannot wait
for blue's in-flight requests is only as good as blue's shutdown. The rollback always runs and
puts blue back behind the proxy, green gone, so the stack ends as it began.

Judged: no prober request sent from green's start until blue has been gone for a moment fails
(the error budget), green answered after the switch and blue never did after it stopped (the
version answer names the instance), and no request held on blue was dropped.

The prober's reads go through a client that re-sends a read whose keep-alive connection the
proxy closed under it (:class:`Resend`): a reload closes the old workers' idle connections, and
an HTTP client re-sends an idempotent request that met a closed connection before any answer,
so a failure there would be the client's, not the deploy's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, Field

from harness.drills.prober import Sample, Send, figures, window
from harness.drills.traffic_frame import Drill
from harness.drills.traffic_shutdown import ShutdownResult
from harness.stack.base import BlueGreen

# How long green serves alone, blue gone, before the window closes: enough for a few answers.
WATCH_S = 1.0
# How long after the switch green has to show up in the prober's answers.
FIRST_ANSWER_WAIT_S = 10.0

Hold = Callable[[Callable[[], None]], ShutdownResult]


class BlueGreenResult(BaseModel):
    release: str
    green_url: str | None = None
    green_ready_s: float | None = Field(default=None, description="green's start to its readiness")
    reload_s: float | None = Field(default=None, description="the reload until new workers ran")
    green_first_answer_s: float | None = Field(
        default=None, description="switch began to the first prober answer from green"
    )
    stop_s: float | None = Field(default=None, description="blue's stop, SIGTERM to exit")
    requests: int = 0
    failed: int = 0
    failed_by_status: dict[str, int] = Field(default_factory=dict)
    longest_gap_s: float = 0.0
    instances_seen: list[str] = Field(default_factory=list, description="in order of answers")
    held: ShutdownResult | None = None
    problems: list[str] = Field(default_factory=list)


class Resend:
    """A send that re-sends a GET or HEAD once when its connection was closed before any
    answer came (what browsers and most HTTP clients do for idempotent requests)."""

    RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)

    def __init__(self, send: Send) -> None:
        self._send = send
        self.resent = 0

    def __call__(self, method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
        try:
            return self._send(method, path, kwargs)
        except self.RETRYABLE:
            if method.upper() not in ("GET", "HEAD"):
                raise
            self.resent += 1
            return self._send(method, path, kwargs)


def first_answer(samples: Sequence[Sample], after: float, instance: str) -> float | None:
    """When the first successful answer from ``instance`` sent after ``after`` arrived."""
    ends = [s.end for s in window(samples, after) if s.ok and s.instance == instance]
    return min(ends) if ends else None


def run(
    drill: Drill,
    stack: BlueGreen,
    *,
    service: str,
    proxy: str,
    release: str,
    budget: int,
    drain_s: float,
    reads_instance: bool,
    hold: Hold | None = None,
    watch_s: float = WATCH_S,
    first_answer_wait_s: float = FIRST_ANSWER_WAIT_S,
) -> BlueGreenResult:
    """Blue to green under the prober; rollbacks registered on ``drill`` (the caller runs
    them). ``reads_instance``: the prober's calls read the instance field."""
    result = BlueGreenResult(release=release)
    prober = drill.prober
    drill.rollback(
        f"{service} blue behind {proxy} again", lambda: stack.restore_blue(proxy, service)
    )
    began = prober.now()
    with drill.step(f"start green: {service} at release {release}"):
        result.green_url = stack.start_green(service, release)
    result.green_ready_s = round(prober.now() - began, 3)
    prober.mark("green ready")
    switched = prober.now()
    with drill.step(f"switch {proxy} to green (reload)"):
        result.reload_s = round(stack.switch(proxy, service, "green"), 3)
    if reads_instance:
        deadline = time.monotonic() + first_answer_wait_s
        while time.monotonic() < deadline:
            seen = first_answer(prober.samples, switched, "green")
            if seen is not None:
                result.green_first_answer_s = round(seen - switched, 3)
                prober.mark("green answered")
                break
            time.sleep(0.05)
    with drill.step(f"drain blue ({drain_s:.1f} s)"):
        time.sleep(drain_s)
    stop_began = prober.now()
    with drill.step(f"stop blue ({service})"):
        if hold is not None:
            result.held = hold(lambda: stack.stop_instance(service, "blue"))
        else:
            stack.stop_instance(service, "blue")
    stopped = prober.now()
    result.stop_s = round(
        result.held.stop_s if result.held and result.held.stop_s else stopped - stop_began, 3
    )
    with drill.step("green serves alone"):
        time.sleep(watch_s)
        prober.wait_for(3, timeout_s=30)
    seen_all = window(prober.samples, began)
    judged = figures(seen_all)
    result.requests, result.failed = judged.requests, judged.failed
    result.failed_by_status = judged.failed_by_status
    result.longest_gap_s = judged.longest_gap_s
    instances: list[str] = []
    for s in sorted(seen_all, key=lambda x: x.t):
        if s.instance is not None and (not instances or instances[-1] != s.instance):
            instances.append(s.instance)
    result.instances_seen = instances
    result.problems.extend(_judge(result, seen_all, stopped, budget, reads_instance))
    return result


def _judge(
    result: BlueGreenResult,
    samples: Sequence[Sample],
    stopped: float,
    budget: int,
    reads_instance: bool,
) -> list[str]:
    problems: list[str] = []
    if result.failed > budget:
        ways = ", ".join(f"{k}: {v}" for k, v in result.failed_by_status.items())
        problems.append(
            f"{result.failed} of {result.requests} prober requests failed over the switch "
            f"(error budget {budget}; {ways}; longest gap {result.longest_gap_s:.2f} s)"
        )
    if reads_instance:
        if result.green_first_answer_s is None:
            problems.append("green never answered the prober after the switch")
        late_blue = [s for s in window(samples, stopped) if s.ok and s.instance == "blue"]
        if late_blue:
            problems.append(
                f"blue answered {len(late_blue)} request(s) after it was stopped: the proxy "
                "did not switch"
            )
    if result.held is not None:
        dropped = result.held.dropped
        if dropped:
            how = sorted(
                {(h.outcome or "") if h.outcome != "answered" else str(h.status) for h in dropped}
            )
            problems.append(
                f"{len(dropped)} of {len(result.held.in_flight)} requests in flight on blue at "
                f"SIGTERM were dropped ({', '.join(how)}): blue did not finish them"
            )
    return problems
