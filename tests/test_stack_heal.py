"""Healing and capabilities without a container engine: the containers provider on a fake one.

The containers provider's heal logic (shared with the local provider in
``harness.stack.managed``) runs here against an in-memory engine, so it is checked on machines
without Docker or Podman; tests/test_stack_containers.py runs the real thing when one answers.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from harness.profile import load_profile
from harness.stack.base import (
    HasState,
    Heals,
    Lifecycle,
    Lockable,
    ServiceState,
    Stack,
    StackCore,
)
from harness.stack.containers import ContainersStack
from harness.stack.external import ExternalStack
from harness.stack.faults import FaultInfo
from harness.stack.images import Engine

REPO = Path(__file__).resolve().parents[1]
REGISTRY = {
    "no_csp": FaultInfo(name="no_csp", services=["app"]),
    "tls_legacy": FaultInfo(name="tls_legacy", services=["nginx"]),
}


class FakeContainer:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.status = "running"
        self.attrs: dict[str, Any] = {"State": {"Pid": 4242}}
        self._log = log

    def reload(self) -> None:
        """The fake's status is always current."""

    def start(self) -> None:
        self._log.append(f"start {self.name}")
        self.status = "running"

    def stop(self, timeout: int = 10) -> None:
        self._log.append(f"stop {self.name}")
        self.status = "exited"

    def remove(self, force: bool = False, v: bool = False) -> None:
        self._log.append(f"remove {self.name}")
        self.status = "removed"

    def logs(self, **_: Any) -> bytes:
        return b""

    def put_archive(self, path: str, data: bytes) -> bool:
        self._log.append(f"copy into {self.name}")
        return True

    def kill(self, signal: str) -> None:
        self._log.append(f"kill -{signal} {self.name}")


class FakeContainers:
    def __init__(self) -> None:
        self.by_name: dict[str, FakeContainer] = {}
        self.log: list[str] = []

    def get(self, name: str) -> FakeContainer:
        container = self.by_name.get(name)
        if container is None or container.status == "removed":
            raise docker.errors.NotFound(name)
        return container

    def make(self, name: str) -> FakeContainer:
        self.log.append(f"create {name}")
        self.by_name[name] = FakeContainer(name, self.log)
        return self.by_name[name]


class FakeClient:
    def __init__(self) -> None:
        self.containers = FakeContainers()


class FakeEngineStack(ContainersStack):
    """Everything but the engine calls is the real provider."""

    one_offs: list[list[str]]

    def _create(self, service: str, *, green: Any = None, host_port: int | None = None) -> Any:
        return self.client.containers.make(self._container_name(service))

    def _wait_ready(self, service: str, began: float) -> None:
        """The fake containers are ready at once."""

    def _registry(self) -> dict[str, FaultInfo]:
        return REGISTRY

    def _nginx_bytes(self, service: str, context: Any = None) -> bytes:
        return b""

    def _one_off(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.one_offs.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngineStack]:
    monkeypatch.setenv("HARNESS_RUN_ROOT", str(tmp_path / "runs"))
    monkeypatch.setenv("HARNESS_NGINX_NETWORK", "host")
    profile = load_profile("reference-containers", config=REPO / "harness.toml")
    stack = FakeEngineStack.create(profile, owner_pid=None)
    stack.one_offs = []
    stack._engine = Engine(client=FakeClient(), url="unix:///fake", name="fake", version="0")
    stack._allocate()
    stack.state.extra["proxy_ip"] = "10.213.0.1"
    stack.state.extra["image.app"] = stack.state.extra["image.nginx"] = "localhost/fake:1"
    stack.state.extra["image.postgres"] = stack.state.extra["image.redis"] = "localhost/fake:1"
    from harness.stack.state import write_state

    write_state(stack.state)
    stack._start_all()
    yield stack
    import shutil

    shutil.rmtree(stack.run_dir, ignore_errors=True)


def _log(stack: FakeEngineStack) -> list[str]:
    client: FakeClient = stack.client
    return client.containers.log


def test_providers_declare_their_capabilities(fake: FakeEngineStack) -> None:
    assert isinstance(fake, Stack) and isinstance(fake, Heals)
    assert isinstance(fake, Lockable) and isinstance(fake, HasState)
    profile = load_profile("reference", config=REPO / "harness.toml")
    target = profile.target.model_copy(update={"base_url": "https://127.0.0.1:9"})
    external = ExternalStack(profile.model_copy(update={"provider": "external", "target": target}))
    assert isinstance(external, StackCore) and isinstance(external, Lifecycle)
    assert not isinstance(external, Heals)
    assert not isinstance(external, Lockable)
    assert not isinstance(external, HasState)


def test_a_healthy_stack_needs_no_healing(fake: FakeEngineStack) -> None:
    assert fake.heal(*fake.baseline()) == []


def test_heal_starts_what_a_test_stopped(fake: FakeEngineStack) -> None:
    baseline = fake.baseline()
    fake.stop("redis")
    assert fake.status()["redis"].state is ServiceState.STOPPED
    assert fake.heal(*baseline) == ["started redis"]
    assert fake.status()["redis"].state is ServiceState.RUNNING


def test_heal_puts_release_and_faults_back(fake: FakeEngineStack) -> None:
    release, faults = fake.baseline()
    older = str(int(release) - 1)
    fake.swap("app", older)  # a downgrade runs the definition's downgrade_argv first
    assert fake.one_offs[-1][-2:] == ["--release", older]
    fake.apply_faults(["tls_legacy", "no_csp"])
    assert fake.state.services["nginx"].faults == ["tls_legacy"]
    fake.stop("postgres")
    _log(fake).clear()

    actions = fake.heal(release, faults)

    assert actions == [
        "started postgres",
        f"swapped app back to release {release}",
        "faults back to none",
    ]
    assert fake.baseline() == (release, faults)
    assert all(s.state is ServiceState.RUNNING for s in fake.status().values())
    assert fake.state.services["nginx"].faults == []
    app = fake._container_name("app")
    nginx = fake._container_name("nginx")
    # The app is recreated (a container's environment is fixed); nginx gets its config anew.
    assert f"remove {app}" in _log(fake) and f"create {app}" in _log(fake)
    assert f"copy into {nginx}" in _log(fake)


def test_container_env_comes_from_the_definition(fake: FakeEngineStack) -> None:
    env = fake._env("app")
    assert env["BRIDGE_RELEASE"] == fake.state.release
    assert env["TRUSTED_PROXIES"] == "127.0.0.1,10.213.0.1"
    assert env["BRIDGE_PUBLIC_URL"] == fake.url("app")
    assert fake._command("postgres")[:2] == ["-c", "fsync=off"]
