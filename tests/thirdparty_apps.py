"""Start the third-party smoke's apps (``.venv-thirdparty``) on a free loopback port.

Each app runs in its own session with a throwaway directory; :func:`running` stops it (the
whole process group) and leaves nothing behind. The profiles are in
``examples/thirdparty.toml``, a template with ``{port}`` and ``{workdir}`` filled in per run.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-thirdparty"
TEMPLATE = REPO / "examples" / "thirdparty.toml"


def _datasette_data(workdir: Path) -> None:
    # One small table, so the database and table pages have rows to render.
    db = sqlite3.connect(workdir / "shop.db")
    try:
        db.execute("create table items (id integer primary key, name text, price real)")
        db.executemany(
            "insert into items (name, price) values (?, ?)",
            [("kettle", 24.5), ("teapot", 18.0), ("mug", 6.25)],
        )
        db.commit()
    finally:
        db.close()


def _no_data(workdir: Path) -> None:
    return None


@dataclass(frozen=True)
class App:
    name: str
    argv: Callable[[int], list[str]]
    prepare: Callable[[Path], None]

    @property
    def log_name(self) -> str:
        return f"{self.name}.log"


APPS = {
    "datasette": App(
        "datasette",
        lambda port: [
            str(VENV / "bin" / "datasette"),
            "serve",
            "shop.db",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        _datasette_data,
    ),
    "httpbin": App(
        "httpbin",
        lambda port: [
            str(VENV / "bin" / "python"),
            "-m",
            "httpbin.core",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        _no_data,
    ),
}


def missing_venv() -> str | None:
    """Why the apps cannot start here, or None when they can."""
    if not (VENV / "bin" / "python").exists():
        return f"{VENV.name} is absent (scripts/setup creates it; scripts/thirdparty too)"
    # Written only after every pinned app installed (scripts/thirdparty).
    if not (VENV / ".thirdparty-stamp").exists():
        return f"{VENV.name} is incomplete (run scripts/thirdparty --install-only)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def render_config(workdir: Path, port: int) -> Path:
    """The template with this run's port and directory, written into ``workdir``."""
    text = TEMPLATE.read_text(encoding="utf-8")
    text = text.replace("{port}", str(port)).replace("{workdir}", str(workdir))
    config = workdir / "harness.toml"
    config.write_text(text, encoding="utf-8")
    return config


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the app exited ({process.returncode}) before it answered")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.3)
    raise RuntimeError(f"{url}: not ready within {timeout_s:.0f} s ({last})")


@contextmanager
def running(app: App, workdir: Path, ready_s: float = 30.0) -> Iterator[tuple[int, Path]]:
    """Run ``app`` in ``workdir``; yields (port, config path); stops its process group."""
    app.prepare(workdir)
    port = free_port()
    config = render_config(workdir, port)
    with (workdir / app.log_name).open("wb") as log:
        process = subprocess.Popen(
            app.argv(port),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it takes its children too
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/", process, ready_s)
        yield port, config
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
