"""OPS-02 on a target the harness did not start, end to end: the real suite test, the real
prober and the guarded command runner against a tiny loopback app (tests/release_target.py)
whose deploy and rollback commands are ``python -c`` scripts rewriting the release file the app
reads. A clean deploy and rollback passes; a rollback that does not restore, or that fails,
fails the control; a profile without the permission or the commands is not_applicable naming
what it lacks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
TEST = "suites/resilience/test_traffic_drills.py::test_rollback_drill_meets_rto_without_lost_writes"
# Writes the release atomically: the app re-reads the file on every request.
SET_RELEASE = (
    "import os, sys; path = sys.argv[1]; open(path + '.new', 'w').write(sys.argv[2]); "
    "os.replace(path + '.new', path)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class App:
    def __init__(self, port: int, state: Path) -> None:
        self.port, self.state = port, state
        self.release_file = state / "release"


@pytest.fixture
def release_target(tmp_path: Path) -> Iterator[Callable[..., App]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*broken: str) -> App:
        port, state = _free_port(), tmp_path / "state"
        state.mkdir()
        (state / "release").write_text("2")
        flags = [arg for release in broken for arg in ("--broken", release)]
        script = str(REPO / "tests" / "release_target.py")
        started.append(subprocess.Popen([sys.executable, script, str(port), str(state), *flags]))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/version", timeout=1)
                return App(port, state)
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the release target did not start")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def _set(app: App) -> list[str]:
    return [sys.executable, "-c", SET_RELEASE, str(app.release_file), "{release}"]


def _toml(value: Any) -> str:
    return json.dumps(value)  # JSON strings and arrays are TOML basic strings and arrays


def _run(
    tmp_path: Path,
    app: App,
    *,
    deploy: list[str] | None,
    rollback: list[str] | None,
    allowed: bool = True,
    previous: bool = True,
    rto_s: float = 10.0,
) -> tuple[dict[str, Any], dict[str, float], str]:
    lines = [
        "[profiles.ext]",
        'provider = "external"',
        'release = "2"',
        "[profiles.ext.target]",
        f'base_url = "http://127.0.0.1:{app.port}"',
        "[profiles.ext.auth]",
        'flow = "bearer"',
        'me_path = "/me"',
        'users = [{ name = "alice", token = "t0ken" }]',
        "[profiles.ext.scope]",
        'allow_writes = ["POST /items"]',
        "[profiles.ext.resilience]",
        *(['previous_release = "1"'] if previous else []),
        'release_path = "/version"',
        'write_operation = "POST /items"',
        "watch_s = 2.0",
        f"rto_s = {rto_s}",
        f"traffic_drills_on_external = {'true' if allowed else 'false'}",
    ]
    if deploy:
        lines.append(f"deploy = {_toml(deploy)}")
    if rollback:
        lines.append(f"rollback = {_toml(rollback)}")
    config = tmp_path / "harness.toml"
    config.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_"))}
    env["HARNESS_CONFIG"] = str(config)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            TEST,
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
            "--profile",
            "ext",
            "--harness-out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    log = done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    (control,) = [c for c in results["controls"] if c["id"] == "OPS-02"]
    figures = {
        f["name"]: f["value"] for f in results.get("figures", []) if f["control"] == "OPS-02"
    }
    return control, figures, log


def test_external_rollback_drill_passes_on_a_clean_deploy_and_rollback(
    tmp_path: Path, release_target
) -> None:
    app = release_target()
    control, figures, log = _run(tmp_path, app, deploy=_set(app), rollback=_set(app))
    assert control["status"] == "pass", log
    assert figures["rollback: writes acknowledged"] > 0, figures
    assert figures["rollback: writes lost"] == 0, figures
    assert 0 <= figures["rollback: recovery time (RTO)"] <= 10, figures
    assert app.release_file.read_text() == "2", "the profile's release runs again afterwards"


def test_external_rollback_drill_fails_when_the_rollback_does_not_restore(
    tmp_path: Path, release_target
) -> None:
    app = release_target("2-bad")
    # The deploy breaks the app (an SLO breach triggers the rollback); the rollback command
    # exits 0 and changes nothing, so the broken release keeps answering.
    deploy = [*_set(app)[:-1], "{release}-bad"]
    # The drill waits out the whole RTO for a recovery that never comes: 3 s instead of the
    # 10 s a clean rollback gets on a loaded machine (10 of this test's 25-30 s). Only the
    # wait is shorter; no RTO lets a release that never answers pass.
    control, figures, log = _run(
        tmp_path, app, deploy=deploy, rollback=[sys.executable, "-c", "pass"], rto_s=3.0
    )
    assert control["status"] == "fail", log
    text = json.dumps(control)
    assert "was not answering steadily within the RTO" in text, log
    assert figures["rollback: recovery time (RTO)"] == -1, figures


def test_external_rollback_drill_fails_when_the_rollback_command_fails(
    tmp_path: Path, release_target
) -> None:
    app = release_target()
    failing = [sys.executable, "-c", "import sys; sys.exit('no previous release here')"]
    control, _, log = _run(tmp_path, app, deploy=_set(app), rollback=failing)
    assert control["status"] == "fail", log
    text = json.dumps(control)
    assert "the rollback command (release 1) exited 1" in text, log


@pytest.mark.parametrize(
    ("allowed", "commands", "previous", "named"),
    [
        (False, True, True, ["resilience.traffic_drills_on_external = true"]),
        (True, False, True, ["resilience.deploy", "resilience.rollback"]),
        (
            False,
            False,
            False,
            [
                "resilience.traffic_drills_on_external = true",
                "resilience.deploy",
                "resilience.rollback",
                "resilience.previous_release",
            ],
        ),
    ],
)
def test_external_rollback_drill_without_permission_or_commands_is_not_applicable(
    tmp_path: Path, release_target, allowed: bool, commands: bool, previous: bool, named: list[str]
) -> None:
    app = release_target()
    argv = _set(app) if commands else None
    control, _, log = _run(
        tmp_path, app, deploy=argv, rollback=argv, allowed=allowed, previous=previous
    )
    assert control["status"] == "not_applicable", log
    text = json.dumps(control)
    for key in named:
        assert key in text, log
    if allowed and previous:  # exactly what is missing: nothing else is named
        assert "traffic_drills_on_external" not in text and "previous_release" not in text, log
    assert app.release_file.read_text() == "2", "nothing ran on the target"
