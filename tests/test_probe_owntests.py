"""CI-01's timing of the target's own tests, with a stack whose exec runs real processes."""

from __future__ import annotations

import subprocess
import sys

from harness.probes import owntests


class Runner:
    """Executes: runs argv here, stopping it after ``limit`` seconds like a stack's exec."""

    def __init__(self, limit: float = 60.0) -> None:
        self.limit = limit

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=self.limit, check=False)


PASS = [sys.executable, "-c", "print('Ran 5 tests'); print('OK')"]
FAIL = [sys.executable, "-c", "import sys; print('FAILED (errors=1)'); sys.exit(1)"]
SLOW = [sys.executable, "-c", "import time; time.sleep(1.5)"]


def test_passing_tests_within_budget_pass() -> None:
    result = owntests.run(Runner(), "app", PASS, budget_s=60)
    assert result.exit_code == 0 and "Ran 5 tests" in result.output_tail
    assert owntests.problems(result) == []
    print(f"own tests wall time {result.wall_s} s")


def test_failing_tests_fail() -> None:
    result = owntests.run(Runner(), "app", FAIL, budget_s=60)
    assert "exited 1" in owntests.problems(result)[0]


def test_over_budget_fails_whether_finished_or_stopped() -> None:
    finished = owntests.run(Runner(), "app", SLOW, budget_s=0.5)
    assert "over the 0.5 s budget" in owntests.problems(finished)[0]
    stopped = owntests.run(Runner(limit=0.5), "app", SLOW, budget_s=0.5)
    assert stopped.exit_code is None and not owntests.stopped_before_budget(stopped)
    assert "did not finish" in owntests.problems(stopped)[0]


def test_stopped_before_the_budget_is_not_judged() -> None:
    stopped = owntests.run(Runner(limit=0.5), "app", SLOW, budget_s=300)
    assert owntests.stopped_before_budget(stopped)
