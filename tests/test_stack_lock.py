"""The stack's readers-writer lock: readers share, writers exclude, writers are preferred.

Each holder opens its own file descriptions, exactly as separate xdist workers do, so the
threads here contend through the kernel's flock just like processes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.stack.lock import LockTimeout, StackLock


def test_readers_share(tmp_path: Path) -> None:
    with StackLock(tmp_path).shared(timeout=2), StackLock(tmp_path).shared(timeout=2):
        pass


def test_writer_excludes_readers_and_writers(tmp_path: Path) -> None:
    with StackLock(tmp_path).exclusive(timeout=2):
        with pytest.raises(LockTimeout), StackLock(tmp_path).shared(timeout=0.2):
            pass
        with pytest.raises(LockTimeout), StackLock(tmp_path).exclusive(timeout=0.2):
            pass
    with StackLock(tmp_path).shared(timeout=2):
        pass


def test_waiting_writer_blocks_new_readers(tmp_path: Path) -> None:
    """Writer preference: once a writer waits, a new reader queues behind it."""
    events: list[str] = []
    first_reader_in = threading.Event()
    release_first_reader = threading.Event()

    def first_reader() -> None:
        with StackLock(tmp_path).shared():
            first_reader_in.set()
            release_first_reader.wait(5)
            events.append("reader1 out")

    def writer() -> None:
        with StackLock(tmp_path).exclusive():
            events.append("writer in")
            time.sleep(0.2)
            events.append("writer out")

    def late_reader() -> None:
        with StackLock(tmp_path).shared():
            events.append("reader2 in")

    threads = [threading.Thread(target=first_reader)]
    threads[0].start()
    assert first_reader_in.wait(5)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    time.sleep(0.2)  # the writer now holds the turnstile and waits for the room
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    time.sleep(0.2)
    assert events == []  # the late reader did not overtake the waiting writer
    release_first_reader.set()
    for thread in threads:
        thread.join(10)
    assert events == ["reader1 out", "writer in", "writer out", "reader2 in"]


def test_a_dead_holder_releases_the_lock(tmp_path: Path) -> None:
    code = (
        "import sys, time; from harness.stack.lock import StackLock\n"
        f"with StackLock({str(tmp_path)!r}).exclusive():\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout), StackLock(tmp_path).shared(timeout=0.2):
            pass
        holder.kill()
        holder.wait(10)
        with StackLock(tmp_path).shared(timeout=5):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
