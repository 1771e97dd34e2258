"""OPS-02: deploy the new release under traffic, catch its failure, roll back within the RTO.

The drill runs on the previous release, deploys the new one while the prober keeps sending,
and watches the prober: more failed requests than the error budget since the deploy began is
an SLO breach, and the breach triggers the rollback at once. A deploy that holds its SLO for
``watch_s`` is rolled back all the same (the drill rehearses the rollback) and the trigger says
so. The recovery time is the rollback decision to the first answer from which every answer
succeeds and every release reading names the previous release; it must meet the RTO. Writes
the target acknowledged during the drill are read back afterwards: a missing one is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from harness.drills.prober import figures, recovered_at, window
from harness.drills.traffic_frame import Drill


class RollbackResult(BaseModel):
    deployed: str
    previous: str
    trigger: str = ""
    breach_after_s: float | None = Field(
        default=None, description="deploy start to the SLO breach (None: no breach)"
    )
    deploy_s: float | None = None
    rollback_s: float | None = Field(default=None, description="the rollback command's own time")
    recovery_s: float | None = Field(
        default=None, description="rollback decision to the previous release answering again"
    )
    rto_s: float
    releases_seen: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class StepFailed(Exception):
    """A lifecycle step of the drill failed on the target's side (its command or start-up)."""


def run(
    drill: Drill,
    *,
    deploy: Callable[[], None],
    roll_back: Callable[[], None],
    deployed: str,
    previous: str,
    budget: int,
    watch_s: float,
    rto_s: float,
) -> RollbackResult:
    result = RollbackResult(deployed=deployed, previous=previous, rto_s=rto_s)
    prober = drill.prober
    began = prober.now()
    with drill.step(f"deploy release {deployed}"):
        deploy()
    result.deploy_s = round(prober.now() - began, 2)
    deadline = time.monotonic() + watch_s
    while True:
        seen = figures(window(prober.samples, began))
        if seen.failed > budget:
            result.breach_after_s = round(prober.now() - began, 2)
            result.trigger = (
                f"SLO breach: {seen.failed} of {seen.requests} requests failed since the deploy "
                f"began (error budget {budget})"
            )
            prober.mark("SLO breach detected")
            break
        if time.monotonic() >= deadline:
            result.trigger = (
                f"rehearsal: release {deployed} held its SLO for {watch_s:.0f} s "
                f"({seen.requests} requests); rolled back on schedule"
            )
            break
        time.sleep(0.1)
    decided = prober.now()
    with drill.step(f"roll back to release {previous}"):
        roll_back()
    result.rollback_s = round(prober.now() - decided, 2)
    wait_until = time.monotonic() + rto_s
    back: float | None = None
    while time.monotonic() < wait_until:
        prober.wait_for(3, timeout_s=10)
        back = recovered_at(prober.samples, decided, release=previous)
        if back is not None and _release_confirmed(drill, decided, previous):
            break
        time.sleep(0.2)
    if back is not None and _release_confirmed(drill, decided, previous):
        result.recovery_s = round(back - decided, 2)
        prober.mark(f"release {previous} answering again")
    result.releases_seen = figures(prober.samples).releases
    if result.recovery_s is None:
        result.problems.append(
            f"release {previous} was not answering steadily within the RTO of {rto_s:.0f} s "
            "after the rollback decision"
        )
    elif result.recovery_s > rto_s:
        result.problems.append(
            f"recovery took {result.recovery_s:.1f} s, over the RTO of {rto_s:.0f} s"
        )
    return result


def _release_confirmed(drill: Drill, after: float, release: str) -> bool:
    """At least one answer after ``after`` named ``release`` (when the mix reads releases)."""
    samples = window(drill.prober.samples, after)
    readings = [s.release for s in samples if s.release is not None]
    if not any(s.release is not None for s in drill.prober.samples):
        return True  # the mix does not read the release; the status codes decide alone
    return bool(readings) and readings[-1] == release
