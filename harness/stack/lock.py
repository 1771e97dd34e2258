"""A writer-preferring readers-writer lock shared by every process that uses one stack.

Tests that only use the stack hold it shared; ``@pytest.mark.disruptive`` tests (stop,
restart, reconfigure) hold it exclusive, so no test sees a dependency vanish under it.

Built from two ``fcntl.flock`` files in the run dir (flock is released by the kernel when a
holder dies, so a crashed xdist worker never wedges the others):

- ``lock.turnstile``: a writer takes it exclusively *before* waiting for the room and keeps it
  until it is done; a reader passes through it (exclusive for an instant) before entering.
  So once a writer is waiting, no new reader can enter: writers cannot starve.
- ``lock.room``: readers hold it shared, a writer exclusively.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from harness.stack.base import StackError


class LockTimeout(StackError):
    """The stack lock could not be taken in time."""


class StackLock:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.turnstile_path = self.directory / "lock.turnstile"
        self.room_path = self.directory / "lock.room"

    def _open(self, path: Path) -> IO[bytes]:
        return open(path, "a+b")  # noqa: SIM115 - the caller closes it on release

    @staticmethod
    def _flock(handle: IO[bytes], mode: int, timeout: float | None, what: str) -> None:
        if timeout is None:
            fcntl.flock(handle, mode)
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    message = f"timed out after {timeout:.0f} s waiting for {what}"
                    raise LockTimeout(message) from None
                time.sleep(0.01)

    @contextlib.contextmanager
    def shared(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock with other readers; waits while a writer holds or waits for it."""
        turnstile = self._open(self.turnstile_path)
        room = self._open(self.room_path)
        try:
            self._flock(turnstile, fcntl.LOCK_EX, timeout, "the stack turnstile")
            try:
                self._flock(room, fcntl.LOCK_SH, timeout, "the shared stack lock")
            finally:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
            yield
        finally:
            room.close()  # closing releases the flock
            turnstile.close()

    @contextlib.contextmanager
    def exclusive(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock alone; new readers queue behind us as soon as we start waiting."""
        turnstile = self._open(self.turnstile_path)
        room = self._open(self.room_path)
        try:
            self._flock(turnstile, fcntl.LOCK_EX, timeout, "the stack turnstile")
            self._flock(room, fcntl.LOCK_EX, timeout, "the exclusive stack lock")
            yield
        finally:
            room.close()
            turnstile.close()
