"""What the traffic drills share: the prober's source address, the steady-state timings, the
check that the harness runs the target, and how a failed command is quoted."""

from __future__ import annotations

from harness.loopback import source
from harness.verdicts import NotApplicable

PROBER_SOURCE = source(150)
READY_SOURCE = source(151)
STEADY_S = 1.5
# How long a drill waits for the steady state before it when the app has just (re)started.
SETTLE_S = 30.0
# How long a dependency stays stopped: readiness checks time out in 1-2 s on most targets.
OUTAGE_S = 5.0


def managed_only(target) -> None:
    if not target.profile.manages_stack:
        raise NotApplicable(
            "the harness did not start this target: the drill stops, starts and redeploys "
            "services, which only a stack the harness runs allows"
        )


def last_line(exc: Exception) -> str:
    """A failed command's message ends with its output; its last line says why."""
    lines = str(exc).strip().splitlines()
    head = lines[0] if lines else type(exc).__name__
    return head if len(lines) < 2 else f"{head.split(':')[0]} ... {lines[-1].strip()}"
