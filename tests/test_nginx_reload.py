"""harness.stack.nginx_reload: the switch waits for new workers, fails when nginx keeps its old
configuration, optionally drains the old workers; a real nginx reload when nginx is installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.stack import nginx_reload
from harness.stack.base import StackError


class FakeMaster:
    """Workers as pid sets: a reload adds new ones after ``start_after`` polls and removes the
    old ones after ``drain_after`` more."""

    def __init__(self, *, accepts: bool = True, start_after: int = 2, drain_after: int = 3):
        self.pids = {101}
        self.accepts = accepts
        self.start_after, self.drain_after = start_after, drain_after
        self.polls = -1

    def hup(self) -> None:
        self.polls = 0

    def workers(self) -> set[int]:
        if self.polls >= 0 and self.accepts:
            self.polls += 1
            if self.polls == self.start_after:
                self.pids = self.pids | {202}
            if self.polls == self.start_after + self.drain_after:
                self.pids = self.pids - {101}
        return set(self.pids)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_reload_returns_once_a_new_worker_runs() -> None:
    master, clock = FakeMaster(), Clock()
    seconds = nginx_reload.reload(
        master.hup, master.workers, clock=clock, sleep=clock.sleep, interval_s=0.1
    )
    assert seconds == pytest.approx(0.1) and master.pids == {101, 202}  # old not drained


def test_reload_with_drain_waits_for_the_old_workers() -> None:
    master, clock = FakeMaster(), Clock()
    nginx_reload.reload(
        master.hup, master.workers, drain=True, clock=clock, sleep=clock.sleep, interval_s=0.1
    )
    assert master.pids == {202}


def test_a_rejected_config_is_an_error_not_a_silent_switch() -> None:
    master, clock = FakeMaster(accepts=False), Clock()
    with pytest.raises(StackError, match="kept its old configuration"):
        nginx_reload.reload(master.hup, master.workers, timeout_s=1, clock=clock, sleep=clock.sleep)


def test_children_reads_proc(tmp_path: Path) -> None:
    for pid, stat in {
        "10": "10 (nginx: master) S 1 10",
        "11": "11 (nginx: worker (x)) S 10 10",
        "12": "12 (nginx: worker) Z 10 10",  # a zombie is no worker
        "13": "13 (other) S 1 13",
        "self": "not a pid",
    }.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "stat").write_text(stat)
    assert nginx_reload.children(10, tmp_path) == {11}


def test_write_config_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nginx.conf"
    path.write_text("old")
    nginx_reload.write_config(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["nginx.conf"]


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CONF = """daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {dir}/b; proxy_temp_path {dir}/p; fastcgi_temp_path {dir}/f;
    uwsgi_temp_path {dir}/u; scgi_temp_path {dir}/s;
    access_log off;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200 "{answer}"; }} }}
}}
"""


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_a_real_nginx_switches_its_answer_without_a_restart(tmp_path: Path) -> None:
    import httpx

    port = _port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF.format(dir=tmp_path, port=port, answer="blue"))
    argv = ["nginx", "-c", str(conf), "-p", str(tmp_path), "-e", "stderr"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/").text == "blue"
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        nginx_reload.write_config(conf, CONF.format(dir=tmp_path, port=port, answer="green"))
        seconds = nginx_reload.reload_master(process.pid, drain=True)
        assert 0 < seconds < nginx_reload.RELOAD_TIMEOUT_S
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "green"
        assert process.poll() is None  # the same master: a reload, not a restart
        conf.write_text("this is not nginx syntax")
        with pytest.raises(StackError):
            nginx_reload.reload_master(process.pid, timeout_s=2)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "green"  # kept the old one
    finally:
        process.terminate()
        process.wait(10)
