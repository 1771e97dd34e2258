"""State-file plumbing every provider that keeps a state file shares.

A stack object in one process is only a view of the state file: these helpers re-read it
before acting, write it back atomically, and serialise lifecycle operations across processes,
so xdist workers and the CLI can all operate the same stack.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from harness.stack.base import StackError
from harness.stack.state import StackState, read_state, state_lock, write_state


class StateBacked:
    """Mixin: ``self.state`` is a cached copy of ``<run_dir>/state.json``."""

    name: str
    state: StackState

    def _init_state_backing(self) -> None:
        self._mutex = threading.RLock()
        self._ops_depth = 0
        self._ops_handle: int | None = None

    @property
    def run_dir(self) -> Path:
        if not self.state.run_dir:
            raise StackError(f"stack {self.name!r} is not up")
        return Path(self.state.run_dir)

    @property
    def state_path(self) -> Path:
        return self.run_dir / "state.json"

    def _refresh(self) -> StackState:
        """Re-read the state file: another process may have restarted something."""
        if self.state.run_dir and self.state_path.exists():
            self.state = read_state(self.state_path)
        return self.state

    @contextlib.contextmanager
    def _update(self) -> Iterator[StackState]:
        """Read-modify-write the state file, safe across threads and processes."""
        with self._mutex, state_lock(self.run_dir):
            self._refresh()
            yield self.state
            write_state(self.state)

    @contextlib.contextmanager
    def _operation(self) -> Iterator[None]:
        """Serialise lifecycle operations across processes (re-entrant within one stack)."""
        with self._mutex:
            if self._ops_depth == 0:
                handle = os.open(self.run_dir / "ops.lock", os.O_CREAT | os.O_RDWR, 0o600)
                fcntl.flock(handle, fcntl.LOCK_EX)
                self._ops_handle = handle
            self._ops_depth += 1
        try:
            self._refresh()
            yield
        finally:
            with self._mutex:
                self._ops_depth -= 1
                if self._ops_depth == 0 and self._ops_handle is not None:
                    os.close(self._ops_handle)  # closing releases the flock
                    self._ops_handle = None
