"""``locust -f load/`` against a small loopback target: the journeys come from the profile and
the target's OpenAPI document, the exit code from the profile's SLO, and Locust's distributed
mode (one master, two workers on loopback) carries the same journeys and verdict."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.load.plan import build
from harness.profile import load_profile
from tests.load_target import load_target

REPO = Path(__file__).resolve().parent.parent
LOCUST = [sys.executable, "-m", "locust", "-f", str(REPO / "load")]

PROFILE = """
[profiles.small]
provider = "external"
safety = "intrusive"
[profiles.small.target]
base_url = "{url}"
pages = []
[profiles.small.slo]
p95_ms = {p95_ms}
error_rate = 0.05
[profiles.small.load]
wait_min_s = 0.05
wait_max_s = 0.1
min_samples = 5
browse_weight = 1
api_weight = 1
login_weight = 1
[profiles.small.auth]
flow = "form"
api_login_path = "/login"
session_cookie = "sid"
users = [{{ name = "ann", password = "pw-1" }}]
"""


# A passing run's objective is far above anything loopback gives, even on a loaded machine (a
# per-route p95 over 20 samples is close to its slowest request, and a busy CI machine once gave
# 200 ms there); a failing run sets its own tight objective against a route that sleeps past it.
CLEAN_P95_MS = 2000


def _config(tmp_path: Path, url: str, p95_ms: float = CLEAN_P95_MS) -> Path:
    path = tmp_path / "harness.toml"
    path.write_text(textwrap.dedent(PROFILE.format(url=url, p95_ms=p95_ms)), encoding="utf-8")
    return path


def _env(config: Path, summary: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HARNESS_CONFIG=str(config),
        HARNESS_PROFILE="small",
        HARNESS_LOAD_SUMMARY=str(summary),
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
    )
    return env


def _locust(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The deadline only catches a hang: on a loaded machine start-up alone takes seconds.
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_plan_reads_the_profile_and_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with load_target() as target:
        monkeypatch.setenv("HARNESS_CONFIG", str(_config(tmp_path, target.url)))
        plan = build(target.url, load_profile("small"))
    assert set(plan.read_paths) == {"/fast", "/slow"}
    assert plan.api_paths == ["/private"], plan.notes  # 401 anonymous, 200 logged in
    assert plan.can_login and plan.login_path == "/login"


@pytest.mark.parametrize(("slow_s", "p95_ms", "code"), [(0.0, CLEAN_P95_MS, 0), (0.4, 150, 1)])
def test_exit_code_follows_the_slo(tmp_path: Path, slow_s: float, p95_ms: float, code: int) -> None:
    summary = tmp_path / "summary.json"
    with load_target(slow_s) as target:
        env = _env(_config(tmp_path, target.url, p95_ms), summary)
        argv = [*LOCUST, "--headless", "--host", target.url, "-u", "3", "-r", "3", "-t", "4s"]
        result = _locust([*argv, "--only-summary"], env, tmp_path)
    data = json.loads(summary.read_text())
    assert data["figures"]["requests"] > 0, result.stderr[-2000:]
    paths = {route["name"] for route in data["figures"]["routes"]}
    assert {"/fast", "/slow", "/private", "/login"} <= paths
    assert result.returncode == code, result.stderr[-2000:]
    if code:
        assert any("/slow" in problem for problem in data["verdict"]["problems"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_master_and_two_workers_on_loopback(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    port = _free_port()
    with load_target() as target:
        env = _env(_config(tmp_path, target.url), summary)
        common = ["--host", target.url]
        workers = [
            subprocess.Popen(  # noqa: S603 - our own command line
                [
                    *LOCUST,
                    "--worker",
                    "--master-host",
                    "127.0.0.1",
                    "--master-port",
                    str(port),
                    *common,
                ],  # fmt: skip
                env={**env, "HARNESS_LOAD_SUMMARY": ""},
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=(tmp_path / f"worker-{index}.log").open("w"),
            )
            for index in range(2)
        ]
        try:
            master = _locust(
                [
                    *LOCUST,
                    "--master",
                    "--headless",
                    "--expect-workers",
                    "2",
                    "--master-bind-host",
                    "127.0.0.1",
                    "--master-bind-port",
                    str(port),
                    "-u",
                    "4",
                    "-r",
                    "4",
                    "-t",
                    "8s",
                    "--only-summary",
                    *common,
                ],  # fmt: skip
                env,
                tmp_path,
            )
        finally:
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
    logs = "".join((tmp_path / f"worker-{i}.log").read_text()[-1500:] for i in range(2))
    assert master.returncode == 0, master.stderr[-2000:] + logs
    assert "2 workers" in master.stderr or "worker" in master.stderr
    data = json.loads(summary.read_text())
    assert data["figures"]["requests"] > 0 and data["verdict"]["ok"]


def test_a_host_off_the_allow_list_stops_the_run(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("HARNESS_PROFILE", None)  # no profile: the default allow-list, loopback only
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    argv = [*LOCUST, "--headless", "--host", "http://192.0.2.1:9", "-u", "1", "-t", "3s"]
    result = _locust(argv, env, tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "allow-list" in result.stderr


def test_a_target_nobody_here_started_is_loaded_at_the_safe_rate_cap(tmp_path: Path) -> None:
    # provider = "external" without `safety`: safe mode, so the plan caps the whole run's rate.
    summary = tmp_path / "summary.json"
    with load_target() as target:
        config = _config(tmp_path, target.url)
        text = config.read_text().replace('safety = "intrusive"\n', "")
        config.write_text(
            text.replace("[profiles.small.load]\n", "[profiles.small.load]\nsafe_max_rps = 4\n")
        )
        env = _env(config, summary)
        argv = [*LOCUST, "--headless", "--host", target.url, "-u", "6", "-r", "6", "-t", "5s"]
        result = _locust([*argv, "--only-summary"], env, tmp_path)
    data = json.loads(summary.read_text())
    assert data["figures"]["requests"] > 0, result.stderr[-2000:]
    # Uncapped, six users with 50-100 ms think time send well over 30 requests a second.
    assert data["figures"]["rps"] <= 4 * 1.25, data["figures"]
