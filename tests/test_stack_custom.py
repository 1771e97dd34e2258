"""A target's own stack definition under the local provider, and start-up failures.

Small stacks of plain processes (no PostgreSQL), so these run in about a second each.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.profile import Profile
from harness.stack import open_stack
from harness.stack.base import ServiceNotReady, ServiceState, StackError
from harness.stack.supervisor import processes_mentioning

WEB = """
[services.web]
argv = ["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
url = "http://127.0.0.1:{port}"
health = { type = "http", path = "/", timeout_s = 20 }
"""


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="harness-custom-test-", dir="/tmp"))
    monkeypatch.setenv("HARNESS_RUN_ROOT", str(root))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _profile(tmp_path: Path, body: str) -> Profile:
    path = tmp_path / "mine.toml"
    path.write_text(body)
    return Profile(name="mine", stack=str(path))


def _left_behind(runs: Path) -> list[str]:
    return [p.name for p in runs.iterdir() if not p.name.startswith(".")]


def test_own_services_come_up_and_down(tmp_path: Path, runs: Path) -> None:
    body = (
        WEB
        + """
[services.cache]
argv = ["redis-server", "--bind", "127.0.0.1", "--port", "{port}", "--save", ""]
url = "redis://127.0.0.1:{port}/0"
health = { type = "redis" }
[services.web2]
argv = ["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
env = { CACHE = "{urls[cache]}" }
url = "http://127.0.0.1:{port}"
depends_on = ["cache", "web"]
health = { type = "http", path = "/" }
"""
    )
    stack = open_stack(_profile(tmp_path, body))
    stack.up()
    try:
        assert {s.state for s in stack.status().values()} == {ServiceState.RUNNING}
        assert httpx.get(stack.url("web2"), timeout=5).status_code == 200
        env = stack.exec("web2", ["python", "-c", "import os; print(os.environ['CACHE'])"])
        assert env.stdout.strip() == stack.url("cache")
    finally:
        stack.down()
    assert _left_behind(runs) == []


def test_a_service_that_exits_fails_up_with_its_log(tmp_path: Path, runs: Path) -> None:
    body = (
        WEB
        + """
[services.broken]
argv = ["{python}", "-c", "print('config error: no such thing'); raise SystemExit(3)"]
url = "http://127.0.0.1:{port}"
health = { type = "http", path = "/", timeout_s = 30 }
"""
    )
    stack = open_stack(_profile(tmp_path, body))
    with pytest.raises(ServiceNotReady) as caught:
        stack.up()
    message = str(caught.value)
    assert "service 'broken' exited during start-up" in message
    assert "config error: no such thing" in message  # the tail of its log
    assert _left_behind(runs) == []  # everything that did start was torn down
    assert processes_mentioning(str(runs)) == []


def test_a_service_that_never_gets_ready_times_out(tmp_path: Path, runs: Path) -> None:
    body = (
        WEB
        + """
[services.slow]
argv = ["{python}", "-c", "import time; print('warming up', flush=True); time.sleep(60)"]
url = "http://127.0.0.1:{port}"
health = { type = "http", path = "/", timeout_s = 1 }
[services.after]
argv = ["{python}", "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
url = "http://127.0.0.1:{port}"
depends_on = ["slow"]
health = { type = "http", path = "/" }
"""
    )
    stack = open_stack(_profile(tmp_path, body))
    with pytest.raises(ServiceNotReady, match=r"service 'slow' did not become ready within 1 s"):
        stack.up()
    assert _left_behind(runs) == []
    assert processes_mentioning(str(runs)) == []


def test_a_missing_binary_names_the_service(tmp_path: Path, runs: Path) -> None:
    body = (
        WEB
        + """
[services.ghost]
argv = ["/nonexistent/ghostd", "--port", "{port}"]
health = { type = "tcp" }
"""
    )
    stack = open_stack(_profile(tmp_path, body))
    with pytest.raises(StackError, match=r"service 'ghost' could not start '/nonexistent/ghostd'"):
        stack.up()
    assert _left_behind(runs) == []


def test_an_unknown_profile_fault_fails_before_anything_starts(tmp_path: Path, runs: Path) -> None:
    # The definition names the target's fault registry (here the reference app's).
    body = 'faults_argv = ["{python}", "-m", "bridge", "faults", "--json"]\n' + WEB
    profile = _profile(tmp_path, body).model_copy(update={"faults": ["no_csp", "bogus"]})
    stack = open_stack(profile)
    with pytest.raises(StackError, match=r"unknown fault 'bogus' \(known: .*no_csp"):
        stack.up()
    assert _left_behind(runs) == []


def test_a_fault_without_a_registry_fails_in_one_line(tmp_path: Path, runs: Path) -> None:
    profile = _profile(tmp_path, WEB).model_copy(update={"faults": ["no_csp"]})
    stack = open_stack(profile)
    with pytest.raises(StackError, match=r"declares no fault registry \(faults_argv\)"):
        stack.up()
    assert _left_behind(runs) == []
