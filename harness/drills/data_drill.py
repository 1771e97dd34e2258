"""A data drill as data: a steady-state check, the method's steps, rollbacks that always run,
and the steady state checked again after them (the shape of a chaos-engineering experiment).

Each step is timed from the drill's start; a failing step stops the method, never the
rollbacks, and every rollback runs even when an earlier one failed. The record is what the
test puts in evidence and judges.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from pydantic import BaseModel, Field


class StepFailed(Exception):
    """A step did not do what it should (a command exited non-zero): the drill stops there."""


class StepRecord(BaseModel):
    phase: str  # steady-before, method, rollback, steady-after
    name: str
    start_s: float
    duration_s: float
    ok: bool
    error: bool = False  # the harness went wrong here (not the target): the verdict is error
    detail: str = ""


class DrillRecord(BaseModel):
    name: str
    steps: list[StepRecord] = Field(default_factory=list)
    wall_s: float = 0.0

    @property
    def failed(self) -> list[StepRecord]:
        return [s for s in self.steps if not s.ok]

    def errors(self) -> list[StepRecord]:
        return [s for s in self.steps if s.error]

    def method_failure(self) -> StepRecord | None:
        return next((s for s in self.steps if s.phase != "rollback" and not s.ok), None)

    def rollback_failures(self) -> list[StepRecord]:
        return [s for s in self.steps if s.phase == "rollback" and not s.ok]

    def timeline(self) -> str:
        lines = [f"drill {self.name}: {self.wall_s:.2f} s"]
        for s in self.steps:
            mark = "ok  " if s.ok else "FAIL"
            lines.append(
                f"{s.start_s:7.2f}s +{s.duration_s:6.2f}s  {mark} {s.phase:13} {s.name}"
                + (f": {s.detail}" if s.detail else "")
            )
        return "\n".join(lines)


Action = Callable[[], str]


class Drill:
    """``Drill(name).steady(...).then(...).rollback(...)``, then ``run()``."""

    def __init__(self, name: str) -> None:
        self.record = DrillRecord(name=name)
        self._before: list[tuple[str, Action]] = []
        self._method: list[tuple[str, Action]] = []
        self._rollbacks: list[tuple[str, Action]] = []
        self._after: list[tuple[str, Action]] = []
        self._t0 = 0.0

    def steady(self, name: str, action: Action) -> Drill:
        self._before.append((name, action))
        return self

    def then(self, name: str, action: Action) -> Drill:
        self._method.append((name, action))
        return self

    def rollback(self, name: str, action: Action) -> Drill:
        self._rollbacks.append((name, action))
        return self

    def steady_after(self, name: str, action: Action) -> Drill:
        self._after.append((name, action))
        return self

    def _step(self, phase: str, name: str, action: Action) -> bool:
        started = time.monotonic()
        ok, error, detail = True, False, ""
        try:
            detail = action()
        except StepFailed as exc:
            ok, detail = False, str(exc)
        except Exception as exc:  # noqa: BLE001 - a rollback must run whatever broke
            ok, error = False, True
            detail = f"{type(exc).__name__}: {exc}\n" + "".join(
                traceback.format_exception(exc)[-3:]
            )
        self.record.steps.append(
            StepRecord(
                phase=phase,
                name=name,
                start_s=round(started - self._t0, 3),
                duration_s=round(time.monotonic() - started, 3),
                ok=ok,
                error=error,
                detail=detail,
            )
        )
        return ok

    def run(self) -> DrillRecord:
        """Steady state, method (stops at the first failure), every rollback, steady state."""
        self._t0 = time.monotonic()
        try:
            steady = all(self._step("steady-before", n, a) for n, a in self._before)
            if steady:
                for name, action in self._method:
                    if not self._step("method", name, action):
                        break
        finally:
            for name, action in self._rollbacks:
                self._step("rollback", name, action)
            for name, action in self._after:
                self._step("steady-after", name, action)
            self.record.wall_s = round(time.monotonic() - self._t0, 3)
        return self.record
