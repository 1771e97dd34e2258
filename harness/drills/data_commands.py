"""Where a data drill's commands run: in the app service of a stack the harness started
(``stack.exec``), or on this machine for an external target whose profile allows it.

Commands are argv lists from the profile (``[resilience]``); ``{path}`` is replaced by the
backup file, ``{release}`` by the release a deploy or rollback goes to. An external target's
commands reach only what the drill names (its database, or the target), through the process
guard.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel

from harness.guard_process import ProcessGuard
from harness.stack.base import Executes

COMMAND_DEADLINE_S = 300.0


class CommandResult(BaseModel):
    argv: list[str]
    returncode: int
    output: str
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def transcript(self, limit: int = 2000) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode} ({self.elapsed_s:.2f} s)\n"
            + (self.output[-limit:])
        )


class CommandRunner(Protocol):
    """Runs one of the profile's lifecycle commands and says where."""

    where: str

    def run(self, argv: list[str]) -> CommandResult: ...


def fill(argv: list[str], **values: str) -> list[str]:
    """``argv`` with ``{name}`` placeholders replaced (only the names given)."""
    out = []
    for part in argv:
        for name, value in values.items():
            part = part.replace("{" + name + "}", value)
        out.append(part)
    return out


class ServiceRunner:
    """Runs commands in a service of a started stack (its environment, or its container)."""

    def __init__(self, stack: Executes, service: str) -> None:
        self.stack = stack
        self.service = service
        self.where = f"in service {service!r}"

    def run(self, argv: list[str]) -> CommandResult:
        started = time.monotonic()
        done: subprocess.CompletedProcess[str] = self.stack.exec(self.service, argv)
        return CommandResult(
            argv=argv,
            returncode=done.returncode,
            output=(done.stdout or "") + (done.stderr or ""),
            elapsed_s=time.monotonic() - started,
        )


def endpoint(url: str, default_port: int) -> tuple[str, int]:
    """The (host, port) a command may reach for ``url``."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


class GuardedRunner:
    """Runs commands on this machine for an external target, reaching only the endpoints
    given (its database for the data drills, the target itself for a deploy), each checked
    by the scope guard; the process guard contains everything else."""

    def __init__(self, guard: ProcessGuard, reach: list[tuple[str, int]], cwd: Path) -> None:
        self.guard = guard
        self.reach = reach
        self.cwd = cwd
        self.where = "on this machine"

    @classmethod
    def for_database(cls, guard: ProcessGuard, database_url: str, cwd: Path) -> GuardedRunner:
        return cls(guard, [endpoint(database_url, 5432)], cwd)

    def run(self, argv: list[str]) -> CommandResult:
        run = self.guard.run(argv, reach=self.reach, deadline_s=COMMAND_DEADLINE_S, cwd=self.cwd)
        code = run.returncode if run.returncode is not None else 124
        notes = "".join(f"\n[{note}]" for note in run.notes)
        return CommandResult(
            argv=argv, returncode=code, output=run.output + notes, elapsed_s=run.elapsed_s
        )
