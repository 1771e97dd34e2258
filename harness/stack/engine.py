"""The container engine: whatever ``DOCKER_HOST`` points at.

When it is unset, a real Docker daemon on ``/var/run/docker.sock`` wins; else Podman's
Docker-API service on ``/run/podman/podman.sock`` (``scripts/setup-containers`` starts it).
See docs/containers.md.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.stack.base import StackError

PODMAN_SOCKET = "/run/podman/podman.sock"
DOCKER_SOCKET = "/var/run/docker.sock"


class EngineUnavailable(StackError):
    """No Docker-API engine answers (the containers tests skip with this message)."""


def _socket_answers(path: str, timeout: float = 2.0) -> bool:
    if not os.path.exists(path):
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.")
    except OSError:
        return False


def engine_url() -> str | None:
    """The Docker API URL to use: ``DOCKER_HOST``, the Docker socket, or Podman's socket."""
    explicit = os.environ.get("DOCKER_HOST")
    if explicit:
        return explicit
    if _socket_answers(DOCKER_SOCKET):
        return f"unix://{DOCKER_SOCKET}"
    if _socket_answers(PODMAN_SOCKET):
        return f"unix://{PODMAN_SOCKET}"
    return None


@dataclass(frozen=True)
class Engine:
    client: Any  # docker.DockerClient
    url: str
    name: str  # "podman" or "docker"
    version: str

    @property
    def is_podman(self) -> bool:
        return self.name == "podman"


def connect(timeout: float = 120.0) -> Engine:
    """A docker SDK client on the engine, with the testcontainers settings the engine needs.

    Raises EngineUnavailable (one line saying what to run) when nothing answers.
    """
    url = engine_url()
    if url is None:
        raise EngineUnavailable(
            "no container engine: DOCKER_HOST is unset and neither /var/run/docker.sock nor "
            f"{PODMAN_SOCKET} answers (run scripts/setup-containers as root)"
        )
    import docker  # the SDK is heavy; only the containers provider needs it

    try:
        client = docker.DockerClient(base_url=url, timeout=int(timeout))
        version = client.version()
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing here
        raise EngineUnavailable(f"container engine at {url} does not answer: {exc}") from None
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    name = "podman" if "podman" in components.lower() else "docker"
    os.environ["DOCKER_HOST"] = url  # testcontainers reads it
    if name == "podman" or Path("/.dockerenv").exists():
        # Ryuk would need an image from a registry; Podman reports no gateway address.
        os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
        os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    return Engine(client=client, url=url, name=name, version=str(version.get("Version", "?")))


def engine_available() -> str | None:
    """None when an engine answers, else the reason it does not (for pytest skips)."""
    try:
        connect(timeout=10).client.close()
    except EngineUnavailable as exc:
        return str(exc)
    return None
