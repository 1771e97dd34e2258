"""PERF-06's step load against in-process senders: a server with room meets every step, a
serialised one falls behind and its queue shows in the latency (open model)."""

from __future__ import annotations

import threading
import time

from harness.probes import capacity


def test_a_server_with_room_meets_every_step() -> None:
    def fast() -> int:
        time.sleep(0.005)
        return 200

    steps = [capacity.run_step(fast, rate, 0.5) for rate in (10, 20)]
    assert all(s.meets(380, 0.01) for s in steps), [s.p95_ms for s in steps]
    assert capacity.find_capacity(steps, 380, 0.01) == 20
    print("p95 per step (ms):", [s.p95_ms for s in steps])


def test_a_serialised_server_falls_behind() -> None:
    lock = threading.Lock()

    def serialised() -> int:
        with lock:
            time.sleep(0.05)  # at most 20 per second
        return 200

    slow = capacity.run_step(serialised, 60, 1.0)
    assert slow.sent == 60 and slow.p95_ms > 380  # the queue is in the latency
    assert capacity.find_capacity([slow], 380, 0.01) == 0.0


def test_errors_count_against_the_step() -> None:
    answers = iter([200, 500, 0, 429, 200, 200, 200, 200, 200, 200])
    step = capacity.run_step(lambda: next(answers), 100, 0.1, workers=1)
    assert step.sent == 10 and step.errors == 3
    assert not step.meets(380, 0.01) and step.meets(10_000, 0.5)


def test_default_steps_straddle_the_peak() -> None:
    assert capacity.default_steps(9) == [3.0, 6.0, 9.0, 12.0]
    assert capacity.percentile([], 0.95) == float("inf")
    assert capacity.step_seconds(3, 5) > 13 and capacity.step_seconds(12, 5) == 5
