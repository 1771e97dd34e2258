"""The resilience drills' objectives and commands (``[profiles.X.resilience]``).

Thresholds are the target's own (its RTO, RPO and error budget), never the harness's guess;
the commands are argv lists run in the app service (``stack.exec``) on stacks the harness
starts, or on the machine for ``external`` targets, where a drill without its command is
not_applicable with the reason.
"""

from __future__ import annotations

from pydantic import Field

from harness.profile.base import Strict


class ResilienceSettings(Strict):
    """Objectives every drill is judged against, and the lifecycle commands it may run."""

    rto_s: float = Field(
        default=60.0, gt=0, description="recovery-time objective: restore or roll back within it"
    )
    rpo_s: float = Field(
        default=0.0,
        ge=0,
        description="recovery-point objective: seconds of writes a restore may lose",
    )
    error_budget: int = Field(
        default=0, ge=0, description="failed prober requests a zero-downtime drill may tolerate"
    )
    recovery_s: float = Field(
        default=30.0, gt=0, description="a dependency outage's routes must recover within this"
    )
    prober_interval_s: float = Field(
        default=0.05, gt=0, description="pause between the prober's requests during a drill"
    )
    # Traffic drills (rollback, blue-green, shutdown): helper-owned keys below this line.

    # Data drills (migrations, backup and restore, SQLite to PostgreSQL): keys below this line.
