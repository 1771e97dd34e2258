"""Start, watch and stop OS processes, each in its own process group.

Every service runs in a new session (``start_new_session``), so killing its process group
takes its children too (PostgreSQL backends, nginx workers) and a Ctrl-C in the terminal
does not reach it behind the harness's back: teardown stays under our control.

Liveness is judged from ``/proc`` with the recorded start time, because the process that
checks is often not the parent (another xdist worker, ``harness down``) and pids get reused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.stack.paths import ServiceUser
from harness.stack.state import ProcessRecord


def proc_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot; None when it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_alive(record: ProcessRecord | None) -> bool:
    if record is None:
        return False
    _reap(record.pid)
    return proc_start_time(record.pid) == record.start_time


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child, so it does not linger as a zombie."""
    # Not our child (another process started it): then init reaps it, nothing to do here.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def owner_record(pid: int | None = None) -> ProcessRecord:
    pid = pid or os.getpid()
    start = proc_start_time(pid)
    if start is None:
        raise ProcessLookupError(pid)
    return ProcessRecord(pid=pid, pgid=os.getpgid(pid), start_time=start)


class Supervisor:
    """Starts processes and keeps their Popen objects, so Python's own bookkeeping stays
    consistent (no "still running" warnings for children we stopped ourselves)."""

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path,
        user: ServiceUser | None = None,
    ) -> ProcessRecord:
        """Start ``argv`` in a new session with stdout and stderr appended to ``log_path``."""
        with open(log_path, "ab") as log:
            kwargs: dict[str, object] = {}
            if user is not None and not user.is_current:
                kwargs = {"user": user.uid, "group": user.gid, "extra_groups": []}
            process = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                **kwargs,  # type: ignore[call-overload]
            )
        self._children[process.pid] = process
        start = proc_start_time(process.pid)
        # A process that died within microseconds has no /proc entry: record 0, read as dead.
        return ProcessRecord(pid=process.pid, pgid=process.pid, start_time=start or 0)

    def exit_code(self, pid: int) -> int | None:
        """The exit status of a child of ours that has ended (None: running, or not ours)."""
        process = self._children.get(pid)
        return None if process is None else process.poll()

    def forget(self, pid: int) -> None:
        process = self._children.pop(pid, None)
        if process is not None and process.poll() is None:
            process.returncode = -9  # stopped through its group; Popen need not warn about it


def signal_group(record: ProcessRecord, sig: int) -> None:
    """Send ``sig`` to the process group, unless the leader is no longer the one we started."""
    if not is_alive(record):
        # The leader is gone; stragglers of its group (if any) still get the signal.
        sig = signal.SIGKILL if sig != 0 else 0
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pgid, sig)


def group_members(pgid: int) -> list[int]:
    """Pids of live processes in group ``pgid`` (scanned from /proc)."""
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop(record: ProcessRecord, *, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop the whole group: ``sig`` first, SIGKILL after ``timeout`` seconds."""
    if is_alive(record):
        signal_group(record, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(record.pid)
            if not group_members(record.pgid):
                break
            time.sleep(0.02)
    if group_members(record.pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pgid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while group_members(record.pgid) and time.monotonic() < deadline:
            _reap(record.pid)
            time.sleep(0.02)
    _reap(record.pid)


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (how we find strays of a run dir)."""
    found: list[int] = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and proc_start_time(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def kill_pids(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
