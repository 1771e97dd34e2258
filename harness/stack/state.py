"""The state file: everything another process needs to operate a stack it did not start.

A state file is the single source of truth for a running stack. It is rewritten atomically
(temp file + rename) under ``state.lock`` after every change, so xdist workers, ``harness
down`` and ``harness status`` can attach at any time and see a consistent picture.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from harness.stack.base import StackError

STATE_VERSION = 1


class ProcessRecord(BaseModel):
    """One supervised OS process; ``start_time`` guards against pid reuse."""

    pid: int
    pgid: int
    start_time: int = Field(description="field 22 of /proc/PID/stat (clock ticks since boot)")


class ServiceRecord(BaseModel):
    name: str
    url: str | None = None
    desired: Literal["running", "stopped"] = "stopped"
    process: ProcessRecord | None = None
    stop_signal: int = 15
    log: str = Field(description="the file logs() reads (captured output unless configured)")
    output: str = Field(description="the file the process's stdout and stderr go to")
    faults: list[str] = Field(default_factory=list, description="faults this service runs with")
    started_at: float | None = None
    ready_s: float | None = Field(default=None, description="time from spawn to ready")


class Owner(BaseModel):
    """The process whose death means the stack is orphaned (None: detached on purpose)."""

    pid: int
    start_time: int


class StackState(BaseModel):
    version: int = STATE_VERSION
    provider: str
    profile: str
    definition: str = Field(description="path of the stack definition file")
    run_dir: str
    python: str = Field(description="interpreter that runs the app and the mocks")
    owner: Owner | None = None
    created_at: float = Field(default_factory=time.time)
    release: str = "2"
    faults: list[str] = Field(default_factory=list)
    profile_env: dict[str, str] = Field(default_factory=dict)
    secret_key: str = ""
    listen: str = Field(default="127.0.0.1", description="the front end's address (profile.listen)")
    ca_bundle: str | None = None
    ports: dict[str, int] = Field(default_factory=dict, description="'svc' and 'svc.name'")
    urls: dict[str, str] = Field(default_factory=dict)
    services: dict[str, ServiceRecord] = Field(default_factory=dict)
    extra: dict[str, str] = Field(default_factory=dict, description="provider-specific values")

    @property
    def path(self) -> Path:
        return Path(self.run_dir) / "state.json"


def read_state(path: str | os.PathLike[str]) -> StackState:
    """Load a state file; a missing or corrupt file is a StackError that names it."""
    path = Path(path)
    try:
        return StackState.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackError(f"{path}: no such state file (is the stack running?)") from None
    except (ValidationError, json.JSONDecodeError, ValueError) as exc:
        raise StackError(f"{path}: not a harness state file: {exc}") from None


def write_state(state: StackState) -> None:
    """Atomically replace the state file, so readers never see half a document."""
    target = state.path
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    os.replace(temporary, target)


@contextlib.contextmanager
def state_lock(run_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Serialise read-modify-write of the state file across processes (flock)."""
    path = Path(run_dir) / "state.lock"
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
