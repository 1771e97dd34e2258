"""Prerequisite checks for a profile (``harness doctor``): what is there, what to install."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from harness.profile import Profile
from harness.stack.base import StackError

APT = "apt-get install -y {package}   (or run scripts/setup)"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True
    fix: str | None = None


def _version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout + done.stderr).strip()
    match = re.search(r"\d+(\.\d+)+", text)
    return match.group(0) if match else (text.splitlines()[0] if text else None)


def _binary(name: str, argv: list[str], package: str, required: bool = True) -> Check:
    path = shutil.which(argv[0]) if "/" not in argv[0] else argv[0]
    if not path or not os.access(path, os.X_OK):
        return Check(name, False, "not found", required, APT.format(package=package))
    version = _version([path, *argv[1:]])
    return Check(
        name,
        version is not None,
        f"{version or 'does not run'}  ({path})",
        required,
        None if version else APT.format(package=package),
    )


def _postgres() -> Check:
    from harness.stack.postgres import pg_bin_dir

    try:
        bin_dir = pg_bin_dir()
    except StackError as exc:
        return Check("postgres", False, str(exc), True, APT.format(package="postgresql"))
    return _binary("postgres", [str(bin_dir / "postgres"), "--version"], "postgresql")


def _module(name: str, required: bool = True, package: str | None = None) -> Check:
    found = importlib.util.find_spec(name) is not None
    fix = None if found else f".venv/bin/pip install {package or name}   (or run scripts/setup)"
    return Check(
        f"python: {name}", found, "importable" if found else "not installed", required, fix
    )


def _free_ports() -> Check:
    try:
        ports = []
        for _ in range(8):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            ports.append(sock)
        numbers = [s.getsockname()[1] for s in ports]
        for sock in ports:
            sock.close()
        return Check("free loopback ports", True, f"8 bindable on 127.0.0.1 (e.g. {numbers[0]})")
    except OSError as exc:
        return Check("free loopback ports", False, f"cannot bind 127.0.0.1: {exc}")


def _service_user() -> Check:
    from harness.stack.paths import service_user

    user = service_user()
    note = "current user" if user.is_current else f"uid {user.uid}"
    return Check("service user", True, f"{user.name} ({note}) runs PostgreSQL", required=False)


def _docker_socket() -> Check:
    host = os.environ.get("DOCKER_HOST", "")
    candidates = (
        [host] if host else ["unix:///var/run/docker.sock", "unix:///run/podman/podman.sock"]
    )
    for candidate in candidates:
        if not candidate.startswith("unix://"):
            return Check("container engine", True, f"DOCKER_HOST={candidate} (not probed)", True)
        path = urlsplit(candidate).path
        if not Path(path).exists():
            continue
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(3)
                sock.connect(path)
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                reply = sock.recv(256)
        except OSError as exc:
            return Check(
                "container engine",
                False,
                f"{path}: {exc}",
                True,
                "start the engine: podman system service (scripts/setup-containers)",
            )
        if b" 200 " in reply.split(b"\r\n", 1)[0]:
            return Check(
                "container engine",
                True,
                f"{candidate} answers /_ping"
                + ("" if host else f"  (export DOCKER_HOST={candidate})"),
            )
    where = host or " or ".join(candidates)
    return Check(
        "container engine",
        False,
        f"no Docker API at {where}",
        True,
        "HARNESS_CONTAINERS=1 scripts/setup (Podman's API service), then set DOCKER_HOST",
    )


def _definition_modules(profile: Profile) -> list[Check]:
    """The modules the profile's stack definition says its services import."""
    from harness.profile import find_config
    from harness.stack.definition import load_definition

    try:
        definition = load_definition(profile.stack, find_config().parent)
    except (StackError, OSError) as exc:
        return [Check("stack definition", False, str(exc), True, None)]
    install = definition.doctor_install or None
    return [_module(name, package=install) for name in definition.doctor_modules]


def run_checks(profile: Profile) -> list[Check]:
    """Every prerequisite of ``profile``'s provider, required ones first."""
    checks: list[Check] = [
        _module("pydantic"),
        _module("httpx"),
        _module("click"),
        _module("filelock"),
        _module("jinja2"),
    ]
    if profile.provider == "local":
        checks += [
            _postgres(),
            _binary("redis-server", ["redis-server", "--version"], "redis-server"),
            _binary("nginx", ["nginx", "-v"], "nginx"),
            _binary("openssl", ["openssl", "version"], "openssl"),
            _module("psycopg", package="'psycopg[binary]'"),
            _module("cryptography"),
            _free_ports(),
            _service_user(),
        ]
    if profile.provider == "containers":
        engine = shutil.which("podman") or shutil.which("docker")
        checks += [
            Check(
                "engine client",
                engine is not None,
                engine or "neither podman nor docker",
                False,
                APT.format(package="podman"),
            ),
            _docker_socket(),
            _module("testcontainers"),
            _module("docker"),
            _free_ports(),
        ]
    if profile.provider in ("local", "containers"):
        checks += _definition_modules(profile)
    if profile.provider == "external":
        checks.append(
            Check(
                "target.base_url",
                bool(profile.target.base_url),
                profile.target.base_url or "not set",
            )
        )
    checks += [
        _binary("chromium", ["chromium", "--version"], "chromium", required=False),
        _binary("sslscan", ["sslscan", "--version"], "sslscan", required=False),
        _module("playwright", required=False),
        # harness export: OSCAL needs trestle (the audit extra), --check of HDF the Node tools.
        _module("trestle", required=False, package="'soulspot-harness[audit]'"),
        _node_tools(),
    ]
    return checks


def _node_tools() -> Check:
    from harness.export.tools import find_node_tools

    found = find_node_tools()
    if isinstance(found, str):
        return Check("node tools (inspecjs, saf)", False, found, False, "scripts/setup")
    return Check("node tools (inspecjs, saf)", True, str(found.modules), False)
