"""What a data drill works with: the profile's commands, a runner for them, the database URL
and the app's readiness; and the decision whether the drills may run on this target at all.

Only the profile says what a command is; the harness knows no target's tooling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.drills import data_census
from harness.drills.data_commands import CommandResult, CommandRunner, fill
from harness.drills.data_drill import StepFailed
from harness.profile import Profile
from harness.profile.resilience_section import ResilienceSettings
from harness.verdicts import NotApplicable, NotEvaluated

READY_TIMEOUT_S = 120.0


def command_of(settings: ResilienceSettings, key: str) -> list[str] | None:
    commands: dict[str, list[str] | None] = {
        "migrate": settings.migrate,
        "downgrade": settings.downgrade,
        "backup": settings.backup,
        "restore": settings.restore,
        "populate": settings.populate,
        "sqlite_export": settings.sqlite_export,
        "sqlite_migrate": settings.sqlite_migrate,
    }
    return commands[key]


def require_commands(settings: ResilienceSettings, *keys: str) -> dict[str, list[str]]:
    """The named commands, or not_applicable naming every one the profile lacks."""
    found = {k: command_of(settings, k) for k in keys}
    missing = [f"resilience.{k}" for k, v in found.items() if not v]
    if missing:
        raise NotApplicable(f"the profile gives no {' or '.join(missing)} command (argv)")
    return {k: list(v) for k, v in found.items() if v}


def external_allowed(profile: Profile) -> None:
    """A target the harness did not start: the drills run only when its profile allows it."""
    if profile.provider != "external":
        return
    if not profile.resilience.data_drills_on_external:
        raise NotApplicable(
            "the target was not started by the harness and its profile does not allow data "
            "drills on it (resilience.data_drills_on_external = false): they destroy and "
            "restore its database"
        )
    if not profile.datastores.database_url:
        raise NotApplicable("the profile gives no datastores.database_url to check rows in")


@dataclass
class DataDrillContext:
    """One target's data drill toolkit; ``log`` collects command transcripts for evidence."""

    settings: ResilienceSettings
    runner: CommandRunner
    database_url: str
    ready: Callable[[], bool]
    restart_app: Callable[[], None] | None
    transcripts: list[str] = field(default_factory=list)

    def command(self, key: str, **values: str) -> list[str]:
        argv = command_of(self.settings, key)
        if not argv:
            raise NotApplicable(f"the profile gives no resilience.{key} command (argv)")
        return fill(
            list(argv), path=self.settings.backup_path, sqlite=self.settings.sqlite_path, **values
        )

    def run(self, key: str, **values: str) -> CommandResult:
        """Run the profile's ``key`` command; a non-zero exit is the step's failure."""
        result = self.runner.run(self.command(key, **values))
        self.transcripts.append(f"[{key} {self.runner.where}]\n{result.transcript()}")
        if not result.ok:
            raise StepFailed(
                f"{key} command exited {result.returncode}: {result.output.strip()[-400:]}"
            )
        return result

    def census(self) -> data_census.Census:
        return data_census.take(self.database_url, exclude=self.settings.ignore_tables)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Seconds until the app answers ready; StepFailed when it does not in time."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.ready():
                return time.monotonic() - started
            time.sleep(0.25)
        raise StepFailed(f"the app was not ready within {timeout_s:.0f} s")

    def populated(self) -> tuple[data_census.Census, str]:
        """A census with at least ``min_rows`` rows, populating once when the profile can."""
        census = self.census()
        if census.rows >= self.settings.min_rows:
            return census, f"the database holds {census.rows} rows"
        if not self.settings.populate:
            raise NotEvaluated(
                f"the database holds {census.rows} rows, fewer than resilience.min_rows = "
                f"{self.settings.min_rows}, and the profile gives no resilience.populate command"
            )
        result = self.runner.run(self.command("populate"))
        self.transcripts.append(f"[populate {self.runner.where}]\n{result.transcript()}")
        if not result.ok:
            raise NotEvaluated(
                f"the populate command exited {result.returncode}: {result.output[-300:]}"
            )
        after = self.census()
        if after.rows < self.settings.min_rows:
            raise NotEvaluated(
                f"after populating, the database holds {after.rows} rows, fewer than "
                f"resilience.min_rows = {self.settings.min_rows}"
            )
        return after, f"populated: {census.rows} -> {after.rows} rows"
