"""Switch a running nginx to a new configuration without dropping a request.

A reload (SIGHUP to the master, what ``nginx -s reload`` sends) makes the master read the new
file and start new workers; the old workers stop accepting, finish the requests they hold and
exit. The switch is done once the new workers run: from then on every new connection is served
with the new upstream. So :func:`reload` records the master's workers before the signal and
waits until one that was not there appears; a master that rejected the file (a syntax error)
starts none and keeps serving the old configuration, which is an error here, never a silent
"done".

The worker list comes from ``/proc`` (any process whose parent is the master), which also
sees the workers of an nginx in a container sharing the host's process view (the engine gives
the master's host pid). The callers supply how to signal and which pid is the master, so this
module knows nothing of providers.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from harness.stack.base import StackError

RELOAD_TIMEOUT_S = 15.0


def children(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """The pids whose parent is ``pid`` (nginx's workers and cache helpers)."""
    found: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # gone between the listing and the read
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = raw[raw.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[0] not in ("Z", "X") and int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def reload(
    send_hup: Callable[[], None],
    workers: Callable[[], set[int]],
    *,
    drain: bool = False,
    timeout_s: float = RELOAD_TIMEOUT_S,
    interval_s: float = 0.02,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Signal the master and wait until a worker that was not there before runs; returns the
    seconds that took. StackError when none appears in ``timeout_s`` (the master kept the old
    configuration: its error log says why).

    ``drain``: also wait (up to ``timeout_s`` more, then go on) until the old workers have
    exited. For a moment after the new workers start the old ones still accept connections and
    send them to the old upstream; stopping that upstream before they are gone fails those.
    """
    before = workers()
    began = clock()
    send_hup()
    while True:
        if workers() - before:
            seconds = clock() - began
            break
        if clock() - began >= timeout_s:
            raise StackError(
                f"nginx started no new worker within {timeout_s:.0f} s of the reload: it kept "
                "its old configuration (see its error log)"
            )
        sleep(interval_s)
    if drain:
        until = clock() + timeout_s
        while before & workers() and clock() < until:
            sleep(interval_s)
    return seconds


def reload_master(pid: int, *, drain: bool = False, timeout_s: float = RELOAD_TIMEOUT_S) -> float:
    """:func:`reload` for a master this machine can signal by pid."""

    def hup() -> None:
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            raise StackError(f"nginx master {pid} is not running") from None

    return reload(hup, lambda: children(pid), drain=drain, timeout_s=timeout_s)


def write_config(path: Path, text: str) -> None:
    """Replace the config file in one step: the master must never read half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
