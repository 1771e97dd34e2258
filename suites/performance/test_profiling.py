"""PERF-05: the app profiled under load; no one function owns more than the profile's share.

One more instance of the app (the profile's serve command, on a free loopback port, in the app
service's environment) runs under ``py-spy record`` while anonymous GETs of the profile's read
routes load it; the top functions by CPU samples and a chart are attached. Launching under the
profiler rather than attaching: attaching needs ptrace rights a machine may not grant.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.loopback import source
from harness.probes import profiling
from harness.probes.bounded import fetch
from harness.stack.base import HasState
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(64)
STARTUP_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Exclusive (the stack's writer lock): its load must not share the stack with other tests'
# traffic, the Locust run of PERF-02..04 above all, which would distort both measurements.
@pytest.mark.disruptive
@pytest.mark.control("PERF-05")
def test_profile_under_load(target, stack, evidence, tmp_path):
    settings = target.profile.roadmap.profiling
    if not settings.command:
        raise NotApplicable("the profile names no serve command to profile (roadmap.profiling)")
    tool = profiling.py_spy()
    if tool is None:
        raise NotEvaluated("py-spy is not installed beside the harness nor on PATH")
    command = list(settings.command)
    # The stack's own interpreter, as its exec would use for a bare "python".
    if command[0] in ("python", "python3") and isinstance(stack, HasState):
        command[0] = stack.state.python
    port = _free_port()
    raw = tmp_path / "profile.txt"
    # py-spy samples only after the app is up, so the duration covers start-up and load.
    argv = profiling.record_argv(
        tool, raw, command, port, settings.duration_s + STARTUP_S / 4, settings.rate_hz
    )
    paths = settings.paths or [target.profile.target.live_path]
    base = f"http://127.0.0.1:{port}"
    sent: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(stack.exec, settings.service, argv)
        with target.client(base=base, local_address=SOURCE) as client:
            started = time.monotonic()
            while not running.done() and time.monotonic() - started < STARTUP_S:
                if fetch(client, "GET", target.profile.target.live_path, total_s=2).status == 200:
                    break
                time.sleep(0.5)
            while not running.done():
                for path in paths:
                    status = fetch(client, "GET", path, total_s=5).status
                    sent[f"{path} {status}"] = sent.get(f"{path} {status}", 0) + 1
        done = running.result()
    evidence.json("profiled run", {"argv": argv, "exit": done.returncode, "requests": sent})
    if not raw.is_file():
        raise NotEvaluated(
            f"py-spy wrote no profile (exit {done.returncode}): "
            + (done.stderr or done.stdout or "no output").strip()[-400:]
        )
    result = profiling.parse_raw(raw.read_text(encoding="utf-8", errors="replace"))
    answered = sum(n for key, n in sent.items() if not key.endswith(" 0"))
    if not result.samples or not answered:
        raise NotEvaluated(
            f"no load reached the profiled instance ({answered} requests answered, "
            f"{result.samples} samples)"
        )
    chart = tmp_path / "top-functions.svg"
    chart.write_text(profiling.bar_chart(result, f"CPU samples by function ({result.samples})"))
    evidence.file(chart, "top functions under load")
    evidence.json("top functions (self samples)", result.model_dump())
    evidence.figure("top function share", result.top[0].share * 100, "%")
    found = profiling.problems(result, settings.max_function_share)
    assert not found, "; ".join(found) + f" (load: {', '.join(paths)})"
