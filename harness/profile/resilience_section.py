"""The resilience drills' objectives and commands (``[profiles.X.resilience]``).

Thresholds are the target's own (its RTO, RPO and error budget), never the harness's guess;
the commands are argv lists run in the app service (``stack.exec``) on stacks the harness
starts, or on the machine for ``external`` targets, where a drill without its command (or
without the profile's permission, ``*_drills_on_external``) is not_applicable with the reason.
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
    release_path: str | None = Field(
        default=None,
        description="GET path whose JSON answer names the release that answered (the prober "
        "reads it among its requests; absent: the release is not recorded)",
    )
    release_field: str = Field(
        default="release", description="the field of release_path's JSON answer naming the release"
    )
    write_operation: str | None = Field(
        default=None,
        description="'METHOD /path' the prober writes with (a logged-in JSON create whose answer "
        "carries the new object's id, read back at path/id after the drill; absent: no writes)",
    )
    previous_release: str | None = Field(
        default=None,
        description="OPS-02: the release the rollback drill returns to (absent: not_applicable)",
    )
    watch_s: float = Field(
        default=6.0,
        gt=0,
        description="OPS-02: how long the prober watches a deployed release for an SLO breach",
    )
    instance_field: str | None = Field(
        default=None,
        description="OPS-05: the field of release_path's JSON answer naming the instance that "
        "answered (the stack tells each instance its name, blue or green; absent: the drill "
        "cannot show green took over and is not_evaluated)",
    )
    proxy_service: str | None = Field(
        default=None,
        description="OPS-05: the stack service (an nginx) whose upstream the blue-green drill "
        "switches from the app's running instance to a second one (absent: not_applicable)",
    )
    drain_s: float = Field(
        default=1.0,
        ge=0,
        description="OPS-05: how long the old instance keeps running after the switch before "
        "it gets SIGTERM (the proxy's old workers finish what they hold)",
    )
    inflight_operation: str | None = Field(
        default=None,
        description="OPS-06: 'METHOD /path' that reads a JSON body before answering; the drill "
        "holds requests to it in flight by withholding their bodies until after SIGTERM "
        "(absent: not_applicable)",
    )
    inflight_url: str | None = Field(
        default=None,
        description="OPS-06: stack URL name of the app's own listener (a proxy in front buffers "
        "request bodies, so in-flight requests must reach the app itself; absent: the app URL)",
    )
    inflight_requests: int = Field(
        default=24, ge=1, description="OPS-06: requests held in flight when SIGTERM is sent"
    )
    deploy: list[str] | None = Field(
        default=None,
        description="OPS-02 on an external target: argv that deploys the release {release} "
        "(placeholder: the profile's release, and its release again after the drill)",
    )
    rollback: list[str] | None = Field(
        default=None,
        description="OPS-02 on an external target: argv that rolls back to the release "
        "{release} (placeholder: resilience.previous_release)",
    )
    traffic_drills_on_external: bool = Field(
        default=False,
        description="allow the rollback drill (it deploys and rolls back releases under "
        "traffic) on a target the harness did not start; also needs the deploy and rollback "
        "commands and previous_release",
    )
    unaffected_paths: dict[str, list[str]] = Field(
        default_factory=dict,
        description="OPS-04: stack service -> GET paths that must keep answering while it is "
        "stopped (always added: liveness and target.static_paths)",
    )

    # Data drills (migrations, backup and restore, SQLite to PostgreSQL): keys below this line.
    migrate: list[str] | None = Field(
        default=None,
        description="OPS-01: argv that upgrades the schema to the running release's head",
    )
    downgrade: list[str] | None = Field(
        default=None, description="OPS-01: argv that migrates the schema down one release"
    )
    backup: list[str] | None = Field(
        default=None,
        description="OPS-03: argv that backs the database up to the file {path} (placeholder)",
    )
    restore: list[str] | None = Field(
        default=None, description="OPS-03: argv that restores the database from the file {path}"
    )
    backup_path: str = Field(
        default="harness-drill.backup",
        description="the file the backup drill writes, as the commands see it (relative: the "
        "app service's working directory)",
    )
    populate: list[str] | None = Field(
        default=None,
        description="argv that adds sample rows, run before a drill when the database holds "
        "fewer than min_rows",
    )
    min_rows: int = Field(
        default=50, ge=1, description="rows a data drill needs in the database to judge anything"
    )
    ignore_tables: list[str] = Field(
        default_factory=list,
        description="tables the data drills do not compare (queues, caches the app rewrites)",
    )
    data_drills_on_external: bool = Field(
        default=False,
        description="allow the data drills (they destroy and restore the database) on a "
        "target the harness did not start; also needs datastores.database_url and the commands",
    )
    sqlite_export: list[str] | None = Field(
        default=None,
        description="OPS-07: argv that writes the live data into a new SQLite database at "
        "{sqlite} with the app's own schema (the source of the migration)",
    )
    sqlite_migrate: list[str] | None = Field(
        default=None,
        description="OPS-07: argv of the app's migration tool: the SQLite database {sqlite} "
        "into the empty PostgreSQL database named {database} on the app's server",
    )
    sqlite_path: str = Field(
        default="harness-drill.sqlite",
        description="the SQLite file of the migration drill, as the commands see it",
    )
