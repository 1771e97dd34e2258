"""How the rollback drill (OPS-02) changes the running release.

On a stack the harness started, the provider swaps the app service's release (``Swaps``). On a
target it did not start, only the profile knows how: ``resilience.deploy`` and
``resilience.rollback`` are argv lists (``{release}``: the release to go to), run through the
same guarded runner as the data drills' commands, and only when the profile allows lifecycle
operations on that target (``resilience.traffic_drills_on_external``). The drill judges both
the same way: the target's answers under traffic, never the command's own say-so.
"""

from __future__ import annotations

from typing import Protocol

from harness.drills.data_commands import CommandRunner, fill
from harness.profile import Profile
from harness.stack.base import Swaps
from harness.verdicts import NotApplicable


class ReleaseStepFailed(Exception):
    """A deploy or rollback failed on the target's side (its command exited non-zero); the
    message ends with the command's output."""


class Releases(Protocol):
    """Puts a release in service; raises StackError or ReleaseStepFailed when it cannot."""

    def deploy(self, release: str) -> None: ...

    def roll_back(self, release: str) -> None: ...


class StackReleases:
    """A stack the harness runs: both directions are a swap of the app service's release."""

    def __init__(self, stack: Swaps, service: str) -> None:
        self.stack = stack
        self.service = service
        self.transcripts: list[str] = []

    def deploy(self, release: str) -> None:
        self.stack.swap(self.service, release)

    def roll_back(self, release: str) -> None:
        self.stack.swap(self.service, release)


class CommandReleases:
    """A target the harness did not start: the profile's deploy and rollback commands."""

    def __init__(self, deploy: list[str], rollback: list[str], runner: CommandRunner) -> None:
        self.commands = {"deploy": deploy, "rollback": rollback}
        self.runner = runner
        self.transcripts: list[str] = []

    def _run(self, key: str, release: str) -> None:
        result = self.runner.run(fill(self.commands[key], release=release))
        self.transcripts.append(
            f"[{key} to release {release} {self.runner.where}]\n{result.transcript()}"
        )
        if not result.ok:
            raise ReleaseStepFailed(
                f"the {key} command (release {release}) exited {result.returncode}:\n"
                f"{result.output.strip()[-400:]}"
            )

    def deploy(self, release: str) -> None:
        self._run("deploy", release)

    def roll_back(self, release: str) -> None:
        self._run("rollback", release)


def external_commands(profile: Profile) -> tuple[list[str], list[str]]:
    """The deploy and rollback argv of a target the harness did not start, or not_applicable
    naming every key the profile lacks for it (the permission, each command, the release to
    roll back to)."""
    settings = profile.resilience
    deploy, rollback = settings.deploy, settings.rollback
    missing: list[str] = []
    if not settings.traffic_drills_on_external:
        missing.append(
            "resilience.traffic_drills_on_external = true (the drill deploys and rolls back "
            "releases of a target the harness did not start; it is false)"
        )
    missing.extend(
        f"a resilience.{key} command (argv)"
        for key, argv in (("deploy", deploy), ("rollback", rollback))
        if not argv
    )
    if not settings.previous_release:
        missing.append("resilience.previous_release (the release to roll back to)")
    if missing or not deploy or not rollback:
        raise NotApplicable(
            "the harness did not start this target, and the rollback drill runs on it only "
            "with " + ", ".join(missing)
        )
    return list(deploy), list(rollback)
