"""The shape every traffic drill shares: steady state before, the method, rollbacks that always
run, the steady state checked again after; each step timed on the prober's clock.

A drill is a :class:`Drill`: its steps (``with drill.step("stop redis"):``) become events of the
prober and rows of the evidence; ``rollback`` registers an action that runs when the drill ends,
whatever happened (last registered, first run), and its own failure is recorded, not raised
over the drill's. ``steady`` watches the prober for a while and says whether every answer in
that window succeeded (within an error budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, Field

from harness.drills.prober import Figures, Prober, figures, window


class Step(BaseModel):
    name: str
    started_s: float
    ended_s: float | None = None
    ok: bool = True
    detail: str = ""


class Steady(BaseModel):
    """A steady-state check: the prober's answers over a window, and whether they held."""

    label: str
    held: bool
    figures: Figures
    detail: str = ""


class DrillReport(BaseModel):
    name: str
    steps: list[Step] = Field(default_factory=list)
    steady: list[Steady] = Field(default_factory=list)
    figures: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class Drill:
    """One drill run: its prober, its steps and its rollbacks."""

    def __init__(self, name: str, prober: Prober) -> None:
        self.prober = prober
        self.report = DrillReport(name=name)
        self._rollbacks: list[tuple[str, Callable[[], Any]]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        record = Step(name=name, started_s=round(self.prober.mark(name), 3))
        self.report.steps.append(record)
        try:
            yield record
        except BaseException as exc:
            record.ok = False
            record.detail = record.detail or f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            record.ended_s = round(self.prober.now(), 3)

    def rollback(self, name: str, action: Callable[[], Any]) -> None:
        """Run ``action`` when the drill ends, whatever happened."""
        self._rollbacks.append((name, action))

    def run_rollbacks(self) -> list[str]:
        """Every registered rollback, last first; returns the ones that failed."""
        failed: list[str] = []
        while self._rollbacks:
            name, action = self._rollbacks.pop()
            try:
                with self.step(f"rollback: {name}"):
                    action()
            except Exception as exc:  # noqa: BLE001 - recorded; the next rollback still runs
                failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
        return failed

    def steady(self, label: str, seconds: float, budget: int, *, min_requests: int = 3) -> Steady:
        """Watch the prober for ``seconds`` (and at least ``min_requests`` answers): the steady
        state holds when no more than ``budget`` of them failed."""
        start = self.prober.mark(f"steady state: {label}")
        time.sleep(seconds)
        self.prober.wait_for(min_requests, timeout_s=30)
        seen = window(self.prober.samples, start)
        result = figures(seen)
        held = result.requests >= min_requests and result.failed <= budget
        detail = f"{result.requests} requests, {result.failed} failed"
        if result.failed_by_status:
            detail += (
                " (" + ", ".join(f"{k}: {v}" for k, v in result.failed_by_status.items()) + ")"
            )
        if result.requests < min_requests:
            detail += f"; fewer than {min_requests} answers in {seconds:.1f} s"
        check = Steady(label=label, held=held, figures=result, detail=detail)
        self.report.steady.append(check)
        return check

    def settle(
        self, label: str, seconds: float, budget: int, *, within_s: float, min_requests: int = 3
    ) -> Steady:
        """:meth:`steady` again until it holds or ``within_s`` has passed; returns the last.

        For a drill that starts right after the stack restarted the app (a fault switched on,
        a heal): a target still settling is not yet in the steady state the drill starts from,
        and judging it then says nothing about the drill. Every attempt stays in the report.
        """
        deadline = time.monotonic() + within_s
        attempt = 1
        while True:
            check = self.steady(
                label if attempt == 1 else f"{label} (attempt {attempt})",
                seconds,
                budget,
                min_requests=min_requests,
            )
            if check.held or time.monotonic() >= deadline:
                return check
            attempt += 1
