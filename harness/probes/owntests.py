"""CI-01: the target's own test command, run in the app's environment and timed.

The command runs through the stack (``Executes.exec``: the app service's environment and
interpreter, in its container for the containers provider). Its verdict: it must exit 0 and
finish within the budget. A command the stack stopped at its own exec limit before the budget
was reached says nothing about the budget: not_evaluated.
"""

from __future__ import annotations

import subprocess
import time

from pydantic import BaseModel, Field

from harness.stack.base import Executes

OUTPUT_TAIL = 4000


class OwnTests(BaseModel):
    argv: list[str]
    service: str
    budget_s: float
    wall_s: float = 0.0
    exit_code: int | None = Field(default=None, description="None: stopped before it finished")
    stopped_after_s: float | None = None
    output_tail: str = ""


def run(stack: Executes, service: str, argv: list[str], budget_s: float) -> OwnTests:
    result = OwnTests(argv=argv, service=service, budget_s=budget_s)
    started = time.monotonic()
    try:
        done = stack.exec(service, argv)
    except subprocess.TimeoutExpired as exc:
        result.wall_s = round(time.monotonic() - started, 2)
        result.stopped_after_s = float(exc.timeout)
        result.output_tail = _tail(exc.stdout) + _tail(exc.stderr)
        return result
    result.wall_s = round(time.monotonic() - started, 2)
    result.exit_code = done.returncode
    result.output_tail = _tail(done.stdout) + _tail(done.stderr)
    return result


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return (text or "")[-OUTPUT_TAIL:]


def problems(result: OwnTests) -> list[str]:
    command = " ".join(result.argv)
    if result.exit_code is None:
        return [
            f"`{command}` did not finish within {result.wall_s:.0f} s (stopped by the stack after "
            f"{result.stopped_after_s:g} s), over the {result.budget_s:g} s budget"
        ]
    found = []
    if result.exit_code != 0:
        found.append(f"`{command}` exited {result.exit_code}: the target's own tests do not pass")
    if result.wall_s > result.budget_s:
        found.append(
            f"`{command}` took {result.wall_s:.1f} s, over the {result.budget_s:g} s budget"
        )
    return found


def stopped_before_budget(result: OwnTests) -> bool:
    """The stack's own exec limit cut the run short of the budget: nothing is known."""
    return result.exit_code is None and (result.stopped_after_s or 0.0) < result.budget_s
