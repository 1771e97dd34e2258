"""The containers provider: the bundled stack as containers on a Docker-API engine.

One network per run (services reach each other by alias: ``app``, ``postgres``, ``redis``,
``nginx``, ``spotify_mock``, ``slskd_mock``), images built locally (``harness.stack.images``),
every port published on 127.0.0.1 only, readiness checked from the host through the published
ports with the same probes as the local provider. Works on Docker and on Podman's Docker-API
service (``scripts/setup-containers``); see docs/containers.md.

Everything the provider creates carries the label ``harness.run=<run id>`` (and
``harness.run_dir``), so :func:`reap_orphans` can remove what a dead run left behind. The run's
state file is the shared :class:`~harness.stack.state.StackState` (``provider = "containers"``;
container, network and image names in ``extra``), so any process can :func:`attach`.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.profile import Profile
from harness.stack import faults as fault_registry
from harness.stack import images as image_tools
from harness.stack.base import (
    ServiceNotReady,
    ServiceState,
    ServiceStatus,
    StackError,
)
from harness.stack.definition import HealthCheck, StackDefinition, load_definition
from harness.stack.health import ProbeFailed, probe
from harness.stack.lock import StackLock
from harness.stack.state import (
    Owner,
    ServiceRecord,
    StackState,
    read_state,
    write_state,
)
from harness.stack.stateful import StateBacked

Progress = Callable[[str], None]

PROVIDER = "containers"
LABEL_RUN = "harness.run"
LABEL_RUN_DIR = "harness.run_dir"
LABEL_SERVICE = "harness.service"
LABEL_PROFILE = "harness.profile"

# Start order: each group only after the previous one is ready (lifecycle operations), and
# what each service waits for at ``up`` (the mocks are optional for the app's readiness, so
# they start alongside it).
LEVELS: list[list[str]] = [["postgres", "redis", "spotify_mock", "slskd_mock"], ["app"], ["nginx"]]
SERVICES = [name for level in LEVELS for name in level]
DEPENDS_ON: dict[str, list[str]] = {"app": ["postgres", "redis"], "nginx": ["app"]}
IMAGE_OF = {
    "postgres": "postgres",
    "redis": "redis",
    "spotify_mock": "app",
    "slskd_mock": "app",
    "app": "app",
    "nginx": "nginx",
}
INTERNAL_PORT = {
    "postgres": 5432,
    "redis": 6379,
    "spotify_mock": 8000,
    "slskd_mock": 8000,
    "app": 8000,
}
# Hardening (SC-04) that also keeps a runaway test from starving the machine.
LIMITS = {
    "postgres": {"mem_limit": "512m", "nano_cpus": 1_000_000_000},
    "redis": {"mem_limit": "256m", "nano_cpus": 500_000_000},
    "spotify_mock": {"mem_limit": "256m", "nano_cpus": 500_000_000},
    "slskd_mock": {"mem_limit": "256m", "nano_cpus": 500_000_000},
    "app": {"mem_limit": "512m", "nano_cpus": 1_000_000_000},
    "nginx": {"mem_limit": "128m", "nano_cpus": 500_000_000},
}
VOLUMES = {
    "postgres": "/var/lib/postgresql/data",
    "redis": "/data",
    "app": "/var/lib/bridge",
    "nginx": "/etc/harness/nginx",
}
NGINX_DIR = "/etc/harness/nginx"
NGINX_UID = 10101  # harness-nginx in fixtures/stack/containers/nginx.Containerfile
NGINX_RUNTIME = "/tmp/nginx"  # noqa: S108 - a tmpfs inside the container
SLSKD_API_KEY = "harness-slskd-key"
LOG_TAIL_LINES = 30
STOP_TIMEOUT_S = 10
# Container starts are slower than processes (and the first app start migrates): be generous.
MIN_READY_TIMEOUT_S = {
    "postgres": 60.0,
    "redis": 30.0,
    "spotify_mock": 60.0,
    "slskd_mock": 60.0,
    "app": 120.0,
    "nginx": 30.0,
}


def _quiet(_: str) -> None:
    """Default progress sink."""


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _nginx_network(engine: image_tools.Engine) -> str:
    """Where nginx runs: ``host`` (default with a local Linux engine) or ``bridge``.

    On the stack's network every request from the host reaches nginx from the engine's
    gateway address (the published port is NATed), so the app would see one client for
    every test; on the host's network nginx sees each client's own 127.0.0.x address and
    passes it on in X-Real-IP, as with the local provider. ``HARNESS_NGINX_NETWORK``
    overrides.
    """
    wanted = os.environ.get("HARNESS_NGINX_NETWORK", "").strip().lower()
    if wanted in ("host", "bridge"):
        return wanted
    local = engine.url.startswith("unix://") and sys.platform.startswith("linux")
    return "host" if local else "bridge"


def _host_networks() -> list[ipaddress.IPv4Network]:
    networks = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            dest = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
            if int(mask):
                networks.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return networks


def _pick_subnet(client: Any) -> ipaddress.IPv4Network:
    """A /24 in 10.213.0.0/16 that no engine network and no host route uses."""
    used: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(_host_networks())
    for network in client.networks.list():
        with contextlib.suppress(Exception):
            for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
                if pool.get("Subnet"):
                    used.append(ipaddress.ip_network(pool["Subnet"], strict=False))
    candidates = list(range(256))
    random.shuffle(candidates)
    for third in candidates:
        subnet = ipaddress.IPv4Network(f"10.213.{third}.0/24")
        if not any(subnet.overlaps(other) for other in used if other.version == 4):
            return subnet
    raise StackError("no free /24 in 10.213.0.0/16 for the stack's network")


def _tar(files: dict[str, tuple[bytes, int]], uid: int) -> bytes:
    """A tar of ``name -> (content, mode)`` owned by ``uid`` (for put_archive)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        dirs = sorted({str(Path(name).parent) for name in files if str(Path(name).parent) != "."})
        for folder in dirs:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode, info.uid, info.gid, info.mtime = 0o750, uid, uid, int(time.time())
            archive.addfile(info)
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(content), mode, uid, uid
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _release_key(release: str) -> tuple[int, str]:
    return (int(release), "") if release.isdigit() else (0, release)


def _container_class() -> type:
    """testcontainers' DockerContainer, able to copy a prepared tar in before the start."""
    from testcontainers.core.container import DockerContainer

    class HarnessContainer(DockerContainer):  # type: ignore[misc]
        def _transfer_into_container(self, transferable: Any, destination: str, mode: int) -> None:
            # Our transferables are ready-made tars (owner and modes set), extracted at
            # ``destination``; testcontainers' own would make every file root's.
            if self._container is None or not self._container.put_archive(
                path=destination, data=transferable
            ):
                raise StackError(f"could not copy files into {destination}")

    return HarnessContainer


class ContainersStack(StateBacked):
    """A :class:`~harness.stack.base.Stack` of containers on a Docker-API engine."""

    provider = PROVIDER

    def __init__(
        self,
        profile: Profile | None = None,
        *,
        progress: Progress | None = None,
        owner_pid: int | None = -1,
        config_dir: Path | None = None,
        state: StackState | None = None,
    ) -> None:
        self.progress: Progress = progress or _quiet
        self._init_state_backing()
        self._engine: image_tools.Engine | None = None
        self.timings: dict[str, float] = {}
        if state is None:
            if profile is None:
                raise StackError("ContainersStack needs a profile or a state")
            definition = load_definition(profile.stack, config_dir)
            if set(definition.services) != set(SERVICES):
                raise StackError(
                    f"the containers provider runs the bundled stack only; stack "
                    f"{profile.stack!r} has services {sorted(definition.services)}"
                )
            state = StackState(
                provider=PROVIDER,
                profile=profile.name,
                definition=definition.path,
                run_dir="",
                python=sys.executable,
                release=profile.release,
                faults=list(profile.faults),
                profile_env=dict(profile.env),
                secret_key=secrets.token_urlsafe(32),
            )
            if owner_pid is not None:
                from harness.stack import supervisor

                record = supervisor.owner_record(os.getpid() if owner_pid == -1 else owner_pid)
                state.owner = Owner(pid=record.pid, start_time=record.start_time)
        else:
            definition = load_definition(state.definition)
        self.state = state
        self.definition: StackDefinition = definition
        self.name = state.profile
        self.services = list(SERVICES)

    @classmethod
    def create(cls, profile: Profile, **kwargs: Any) -> ContainersStack:
        return cls(profile, **kwargs)

    @classmethod
    def attach(
        cls, state_path: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> ContainersStack:
        state = read_state(Path(state_path).resolve())
        if state.provider != PROVIDER:
            raise StackError(f"{state_path}: a {state.provider!r} stack, not a containers one")
        return cls(state=state, progress=progress)

    # -- small accessors -------------------------------------------------------------------------
    @property
    def engine(self) -> image_tools.Engine:
        if self._engine is None:
            self._engine = image_tools.connect()
        return self._engine

    @property
    def client(self) -> Any:
        return self.engine.client

    @property
    def ca_bundle(self) -> str | None:
        return self.state.ca_bundle

    @property
    def lock(self) -> StackLock:
        return StackLock(self.run_dir)

    @property
    def run_id(self) -> str:
        return self.state.extra["run_id"]

    @property
    def _nginx_on_host(self) -> bool:
        return self.state.extra.get("nginx_network") == "host"

    def _container_name(self, service: str) -> str:
        return f"harness-{self.run_id}-{service}"

    def _volume_name(self, service: str) -> str:
        return f"harness-{self.run_id}-{service}-data"

    def _labels(self, service: str | None = None) -> dict[str, str]:
        labels = {
            LABEL_RUN: self.run_id,
            LABEL_RUN_DIR: str(self.run_dir),
            LABEL_PROFILE: self.name,
        }
        if service:
            labels[LABEL_SERVICE] = service
        return labels

    def _checked(self, service: str) -> str:
        if service not in SERVICES:
            raise StackError(
                f"stack {self.name!r} has no service {service!r} (known: {', '.join(SERVICES)})"
            )
        return service

    def _container(self, service: str) -> Any | None:
        import docker.errors

        try:
            return self.client.containers.get(self._container_name(service))
        except docker.errors.NotFound:
            return None

    # -- plan ------------------------------------------------------------------------------------
    def _allocate(self) -> None:
        from harness.stack.paths import new_run_dir

        state = self.state
        run_dir = new_run_dir(self.name)
        state.run_dir = str(run_dir)
        state.extra["run_id"] = secrets.token_hex(4)
        state.extra["engine"] = f"{self.engine.name} {self.engine.version} at {self.engine.url}"
        state.extra["network"] = f"harness-{state.extra['run_id']}"
        state.extra["nginx_network"] = _nginx_network(self.engine)
        names = [*INTERNAL_PORT, "nginx.https", "nginx.http"]
        for name, port in zip(names, _free_ports(len(names)), strict=True):
            state.ports[name] = port
        state.ports["nginx"] = state.ports["nginx.https"]
        state.ports["app.main"] = state.ports["app"]
        ports = state.ports
        state.urls = {
            "postgres": f"postgresql://bridge@127.0.0.1:{ports['postgres']}/bridge",
            "redis": f"redis://127.0.0.1:{ports['redis']}/0",
            "spotify_mock": f"http://127.0.0.1:{ports['spotify_mock']}",
            "slskd_mock": f"http://127.0.0.1:{ports['slskd_mock']}",
            "app": f"https://127.0.0.1:{ports['nginx.https']}",
            "app_direct": f"http://127.0.0.1:{ports['app']}",
            "nginx": f"https://127.0.0.1:{ports['nginx.https']}",
        }
        for name in SERVICES:
            folder = run_dir / name
            folder.mkdir(exist_ok=True)
            state.services[name] = ServiceRecord(
                name=name,
                url=state.urls[name],  # the app's is the public one, as with the local stack
                stop_signal=self.definition.services[name].signal,
                log=f"container:{self._container_name(name)}",
                output=str(folder / "previous.log"),
            )

    def _tls(self) -> None:
        from harness.stack.certs import make_tls_material

        material = make_tls_material(self.run_dir / "tls")
        self.state.ca_bundle = str(material.ca_cert)

    def _env(self, service: str) -> dict[str, str]:
        state = self.state
        faults = ",".join(self._faults_of(service))
        if service == "app":
            env = {
                "DATABASE_URL": "postgresql+psycopg://bridge@postgres:5432/bridge",
                "REDIS_URL": "redis://redis:6379/0",
                "BRIDGE_PUBLIC_URL": state.urls["app"],
                "SPOTIFY_AUTHORIZE_URL": f"{state.urls['spotify_mock']}/authorize",
                "SPOTIFY_ACCOUNTS_URL": "http://spotify_mock:8000",
                "SPOTIFY_API_URL": "http://spotify_mock:8000",
                "SLSKD_URL": "http://slskd_mock:8000",
                "SLSKD_API_KEY": SLSKD_API_KEY,
                "BRIDGE_KEYRING_FILE": f"{VOLUMES['app']}/keyring.json",
                "BRIDGE_SECRET_KEY": state.secret_key,
                "BRIDGE_RELEASE": state.release,
                "BRIDGE_FAULTS": ",".join(state.faults),
                # nginx has a fixed address, so the app can believe its X-Real-IP.
                "TRUSTED_PROXIES": f"127.0.0.1,{state.extra['proxy_ip']}",
                "PYTHONUNBUFFERED": "1",
            }
            env.update(state.profile_env)
            return env
        if service == "spotify_mock":
            return {
                "BRIDGE_FAULTS": faults,
                "PYTHONUNBUFFERED": "1",
                "HEALTHCHECK_PATH": "/_mock/requests",
            }
        if service == "slskd_mock":
            return {
                "PYTHONUNBUFFERED": "1",
                "HEALTHCHECK_PATH": "/_mock/requests",
                "SLSKD_API_KEY": SLSKD_API_KEY,
            }
        if service == "nginx":
            return {"NGINX_HTTPS_PORT": str(state.ports["nginx.https"])}
        return {}

    def _command(self, service: str) -> list[str] | None:
        if service in ("spotify_mock", "slskd_mock"):
            return ["python3", "-m", service, "--host", "0.0.0.0", "--port", "8000"]
        if service == "postgres":
            # A throwaway test database: durability buys nothing and costs time.
            return [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=100",
            ]
        return None  # the image's CMD

    def _nginx_config(self) -> bytes:
        from harness.stack.nginx import render_nginx_config

        ports = self.state.ports
        text = render_nginx_config(
            http_port=ports["nginx.http"],
            https_port=ports["nginx.https"],
            upstream_servers=[f"127.0.0.1:{ports['app']}" if self._nginx_on_host else "app:8000"],
            cert=f"{NGINX_DIR}/tls/server.pem",
            key=f"{NGINX_DIR}/tls/server.key",
            runtime_dir=NGINX_RUNTIME,
            tls_legacy="tls_legacy" in self._faults_of("nginx"),
            user=None,  # never a `user` line: the master is not root in the container
        )
        # On the stack's network: listen on every interface of the container's own namespace
        # (the port is published on the host's 127.0.0.1 only). Either way: log to the
        # container's output, and no ``user`` (the master does not run as root).
        if not self._nginx_on_host:
            text = re.sub(r"(?m)^(\s*listen\s+)127\.0\.0\.1:", r"\g<1>", text)
        text = re.sub(r"(?m)^user\s+[^;]*;\n", "", text)
        text = re.sub(r"(?m)^(\s*error_log\s+)\S+", r"\g<1>stderr", text)
        text = re.sub(r"(?m)^(\s*access_log\s+)\S+", r"\g<1>/dev/stdout", text)
        return text.encode()

    def _nginx_files(self) -> bytes:
        tls = self.run_dir / "tls"
        return _tar(
            {
                "nginx.conf": (self._nginx_config(), 0o640),
                "tls/server.pem": ((tls / "server.pem").read_bytes(), 0o640),
                "tls/server.key": ((tls / "server.key").read_bytes(), 0o600),
            },
            NGINX_UID,
        )

    # -- faults ----------------------------------------------------------------------------------
    def _registry(self) -> dict[str, fault_registry.FaultInfo]:
        return fault_registry.load_registry(self.state.python, cache=self.run_dir / "faults.json")

    def _faults_of(self, service: str) -> list[str]:
        if not self.state.faults:
            return []
        try:
            registry = self._registry()
        except StackError:
            return list(self.state.faults) if service == "app" else []
        known = [f for f in self.state.faults if f in registry]
        return fault_registry.per_service(known, registry, self.definition)[service]

    # -- up / down -------------------------------------------------------------------------------
    def up(self) -> None:
        """Build (or find) the images, then start every service once its dependencies are
        ready; all or nothing."""
        started = time.monotonic()
        engine = self.engine
        reaped = reap_orphans(engine=engine)
        if reaped:
            self.progress(f"harness: removed containers of dead runs: {', '.join(reaped)}")
        self._allocate()
        write_state(self.state)
        self.timings["prepare"] = time.monotonic() - started
        self.progress(
            f"harness: starting stack {self.name!r} ({self.state.extra['engine']}) "
            f"in {self.run_dir}"
        )
        try:
            began = time.monotonic()
            built = image_tools.ensure_images(engine)
            self.timings["images"] = time.monotonic() - began
            for image, result in built.items():
                self.state.extra[f"image.{image}"] = result.tag
                verb = "built" if result.built else "cached"
                self.progress(f"harness: image {verb}: {result.tag} ({result.seconds:.1f} s)")
            self.state.extra["images_built"] = ",".join(i for i, r in built.items() if r.built)
            began = time.monotonic()
            self._tls()
            self._create_network()
            write_state(self.state)
            self.timings["network"] = time.monotonic() - began
            began = time.monotonic()
            self._start_all()
            self.timings["containers"] = time.monotonic() - began
        except BaseException:
            self.down()
            raise
        self.timings["up"] = time.monotonic() - started
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items() if k != "up")
        self.progress(f"harness: stack {self.name!r} up in {self.timings['up']:.1f} s ({phases})")

    def _create_network(self) -> None:
        import docker.errors
        import docker.types
        from testcontainers.core.network import Network

        for attempt in range(4):
            subnet = _pick_subnet(self.client)
            hosts = list(subnet.hosts())
            self.state.extra["subnet"] = str(subnet)
            self.state.extra["gateway"] = str(hosts[0])
            self.state.extra["nginx_ip"] = str(hosts[-1])  # far from the engine's own picks
            # Who the app sees nginx's requests come from: its own address on the network,
            # or, with nginx on the host's network, the gateway (the engine NATs host ->
            # published port).
            self.state.extra["proxy_ip"] = str(hosts[0] if self._nginx_on_host else hosts[-1])
            ipam = docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=str(hosts[0]))]
            )
            network = Network(
                docker_network_kw={"labels": self._labels(), "ipam": ipam, "driver": "bridge"}
            )
            network.name = self.state.extra["network"]
            try:
                network.create()
                return
            except docker.errors.APIError as exc:
                if attempt == 3:  # another run took the same subnet at the same moment?
                    raise StackError(f"could not create network {network.name}: {exc}") from None

    def _start_all(self) -> None:
        """Every service, each as soon as what it depends on is ready; the root cause first."""
        futures: dict[str, Any] = {}

        def run(name: str) -> None:
            for dependency in DEPENDS_ON.get(name, []):
                try:
                    futures[dependency].result()
                except BaseException:
                    raise StackError(f"{name} not started: {dependency} did not come up") from None
            self._start_one(name)

        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=len(SERVICES), thread_name_prefix="up") as pool:
            for name in SERVICES:  # dependencies are submitted before their dependents
                futures[name] = pool.submit(run, name)
            for future in futures.values():
                try:
                    future.result()
                except BaseException as exc:
                    errors.append(exc)
        errors.sort(key=lambda e: " not started: " in str(e))
        if errors:
            raise errors[0]

    def _create(self, service: str) -> Any:
        """Create and start the container of ``service`` (it must not exist)."""
        from docker.types import EndpointConfig

        state = self.state
        image = state.extra[f"image.{IMAGE_OF[service]}"]
        container = _container_class()(image)
        container.with_name(self._container_name(service))
        container.with_envs(**self._env(service))
        command = self._command(service)
        if command:
            container.with_command(command)
        host_nginx = service == "nginx" and self._nginx_on_host
        if host_nginx:
            pass  # listens on the host's 127.0.0.1 itself: nothing to publish
        elif service == "nginx":
            for key in ("nginx.https", "nginx.http"):
                port = state.ports[key]
                container.ports[f"{port}/tcp"] = ("127.0.0.1", port)  # same number inside
        else:
            container.ports[f"{INTERNAL_PORT[service]}/tcp"] = ("127.0.0.1", state.ports[service])
        container.with_tmpfs_mount("/tmp", "size=64m")  # noqa: S108 - in the container
        if service in VOLUMES:
            container.with_volume_mapping(self._volume_name(service), VOLUMES[service], "rw")
        kwargs: dict[str, Any] = {
            "labels": self._labels(service),
            "read_only": True,
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "pids_limit": 256,
            "stop_signal": self.definition.services[service].stop_signal,
            **LIMITS[service],
        }
        if host_nginx:
            kwargs["network_mode"] = "host"
        else:
            network = state.extra["network"]
            endpoint: dict[str, Any] = {"aliases": [service]}
            if service == "nginx":
                endpoint["ipv4_address"] = state.extra["nginx_ip"]
            version = self.client.api.api_version
            kwargs["network"] = network
            kwargs["networking_config"] = {network: EndpointConfig(version, **endpoint)}
            kwargs["hostname"] = service.replace("_", "-")
        container.with_kwargs(**kwargs)
        if service == "nginx":
            container.with_copy_into_container(self._nginx_files(), NGINX_DIR)
        if service in VOLUMES:
            self._ensure_volume(service)
        try:
            container.start()
        except Exception as exc:  # noqa: BLE001 - the engine's own message says it best
            raise StackError(f"could not start the {service} container: {exc}") from None
        return container.get_wrapped_container()

    def _ensure_volume(self, service: str) -> None:
        import docker.errors

        name = self._volume_name(service)
        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels=self._labels(service))

    def _start_one(self, service: str) -> None:
        """Start ``service`` (create its container if needed) and wait until it is ready."""
        with self._update() as state:
            state.services[service].desired = "running"
        began = time.monotonic()
        container = self._container(service)
        if container is None:
            container = self._create(service)
        else:
            container.reload()
            if container.status != "running":
                container.start()
        with self._update() as state:
            record = state.services[service]
            record.started_at = time.time()
            record.faults = self._faults_of(service)
        self._wait_ready(service, began)
        elapsed = time.monotonic() - began
        with self._update() as state:
            state.services[service].ready_s = round(elapsed, 3)
        if service == "app":
            self._reload_nginx()
        self.progress(
            f"harness: ready: {service:<13} {elapsed:5.2f} s  {self.state.services[service].url}"
        )

    def _reload_nginx(self) -> None:
        """nginx resolves ``app`` when it loads its config: after the app container changed
        (a new address), make it look again. Harmless when nginx is not running."""
        if self._nginx_on_host:
            return  # it proxies to the app's published port, which never changes
        container = self._container("nginx")
        if container is None:
            return
        container.reload()
        if container.status == "running":
            with contextlib.suppress(Exception):
                container.kill(signal="SIGHUP")
                time.sleep(0.3)  # the new workers take over within a few ms

    def _health(self, service: str) -> tuple[HealthCheck, str]:
        check = self.definition.services[service].health.model_copy()
        check.timeout_s = max(check.timeout_s, MIN_READY_TIMEOUT_S[service])
        check.interval_s = max(check.interval_s, 0.1)
        # The app is probed on its own port (like the local stack's definition does).
        url = self.state.urls["app_direct" if service == "app" else service]
        return check, url

    def _wait_ready(self, service: str, began: float) -> None:
        check, url = self._health(service)
        deadline = began + check.timeout_s
        last = "no attempt yet"
        container = self._container(service)
        while True:
            if container is not None:
                container.reload()
                if container.status in ("exited", "dead"):
                    code = container.attrs.get("State", {}).get("ExitCode")
                    raise ServiceNotReady(
                        f"service {service!r} (container {container.name}) exited during "
                        f"start-up (exit code {code}); last lines of its log:\n"
                        f"{self._tail(service)}"
                    )
            try:
                probe(check, url, ca_bundle=self.state.ca_bundle, timeout=2.0)
                return
            except ProbeFailed as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise ServiceNotReady(
                    f"service {service!r} (container {self._container_name(service)}) did not "
                    f"become ready within {check.timeout_s:.0f} s ({check.type} check on {url}: "
                    f"{last}); last lines of its log:\n{self._tail(service)}"
                )
            time.sleep(check.interval_s)

    def _tail(self, service: str, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = "\n".join(self.logs(service)[-lines:])
        except Exception as exc:  # noqa: BLE001
            return f"(no log: {exc})"
        return text or "(log is empty)"

    def down(self) -> None:
        """Remove every container, the volumes and the network, then the run dir. Idempotent."""
        if not self.state.run_dir:
            return
        run_id = self.state.extra.get("run_id")
        if run_id:
            remove_run(self.engine, run_id)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.progress(f"harness: stack {self.name!r} is down")

    # -- addresses and logs ----------------------------------------------------------------------
    def url(self, service: str) -> str:
        try:
            return self.state.urls[service].rstrip("/")
        except KeyError:
            known = ", ".join(sorted(self.state.urls))
            raise KeyError(
                f"stack {self.name!r} has no URL for {service!r} (known: {known})"
            ) from None

    def _archive(self, service: str) -> Path:
        return self.run_dir / service / "previous.log"

    def logs(self, service: str, since: int = 0) -> list[str]:
        """The service's output: earlier containers' (kept when one is replaced), then the
        current container's."""
        self._checked(service)
        lines: list[str] = []
        with contextlib.suppress(FileNotFoundError):
            archived = self._archive(service).read_text(encoding="utf-8", errors="replace")
            lines = archived.splitlines()
        container = self._container(service)
        if container is not None:
            with contextlib.suppress(Exception):
                raw = container.logs(stdout=True, stderr=True)
                lines += raw.decode("utf-8", "replace").splitlines()
        return lines[since:]

    def mark(self, service: str) -> int:
        return len(self.logs(service))

    def _remove(self, service: str) -> None:
        """Stop and remove the service's container, keeping its output in the archive."""
        container = self._container(service)
        if container is None:
            return
        with contextlib.suppress(Exception):
            container.stop(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(Exception):
            raw = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
            if raw:
                with self._archive(service).open("a", encoding="utf-8") as handle:
                    handle.write(raw if raw.endswith("\n") else raw + "\n")
        with contextlib.suppress(Exception):
            container.remove(force=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def _stop_one(self, service: str) -> None:
        with self._update() as state:
            state.services[service].desired = "stopped"
        container = self._container(service)
        if container is not None:
            container.stop(timeout=STOP_TIMEOUT_S)

    def stop(self, service: str) -> None:
        with self._operation():
            self._stop_one(self._checked(service))

    def start(self, service: str) -> None:
        with self._operation():
            self._start_one(self._checked(service))

    def restart(self, service: str) -> None:
        with self._operation():
            name = self._checked(service)
            self._stop_one(name)
            self._start_one(name)

    def _recreate(self, service: str) -> None:
        """A new container for ``service`` (new environment or release); data volumes stay."""
        with self._update() as state:
            state.services[service].desired = "stopped"
        self._remove(service)
        self._start_one(service)

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the service's container (its environment, its user).

        Paths in ``argv`` are paths inside the container (the app's working directory
        /var/lib/bridge is its data volume). ``psql`` and friends in the postgres container
        reach the server without options.
        """
        self._refresh()
        self._checked(service)
        if not argv:
            raise StackError("exec needs a command")
        container = self._container(service)
        if container is None:
            raise StackError(f"service {service!r} has no container")
        container.reload()
        if container.status != "running":
            return subprocess.CompletedProcess(
                argv, 125, "", f"service {service!r} is not running (container {container.status})"
            )
        env = None
        if service == "postgres":
            env = {
                "PGHOST": "127.0.0.1",
                "PGPORT": "5432",
                "PGUSER": "bridge",
                "PGDATABASE": "bridge",
            }
        result = container.exec_run(list(argv), demux=True, environment=env)
        out, err = result.output if isinstance(result.output, tuple) else (result.output, b"")
        return subprocess.CompletedProcess(
            list(argv),
            int(result.exit_code if result.exit_code is not None else 125),
            (out or b"").decode("utf-8", "replace"),
            (err or b"").decode("utf-8", "replace"),
        )

    def swap(self, service: str, release: str) -> None:
        """Recreate ``service`` (the app) at another release; migrates the schema down first
        when the release goes down (``bridge downgrade`` in a one-off container)."""
        with self._operation():
            if self._checked(service) != "app":
                raise StackError(f"service {service!r} has no release to swap")
            old = self.state.release
            with self._update() as state:
                state.services[service].desired = "stopped"
            self._remove(service)
            if _release_key(release) < _release_key(old):
                done = self._one_off(
                    service, ["python3", "-m", "bridge", "downgrade", "--release", release]
                )
                if done.returncode != 0:
                    self._start_one(service)
                    raise StackError(
                        f"downgrade of {service!r} to release {release} failed "
                        f"(exit {done.returncode}): {(done.stdout + done.stderr).strip()[-2000:]}"
                    )
            with self._update() as state:
                state.release = release
            self._start_one(service)

    def _one_off(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in a throwaway container of ``service``'s image, network and env."""
        name = f"{self._container_name(service)}-once-{secrets.token_hex(2)}"
        network = self.state.extra["network"]
        container = self.client.containers.run(
            self.state.extra[f"image.{IMAGE_OF[service]}"],
            argv,
            name=name,
            detach=True,
            environment=self._env(service),
            labels=self._labels(service),
            network=network,
            volumes={self._volume_name(service): {"bind": VOLUMES[service], "mode": "rw"}}
            if service in VOLUMES
            else None,
            read_only=True,
            tmpfs={"/tmp": "size=64m"},  # noqa: S108 - in the container
        )
        try:
            code = container.wait(timeout=300).get("StatusCode", 1)
            out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        finally:
            with contextlib.suppress(Exception):
                container.remove(force=True)
        return subprocess.CompletedProcess(argv, int(code), out, err)

    def apply_faults(self, faults: list[str]) -> None:
        """Switch to exactly ``faults``; recreate only the services whose fault set changes
        (nginx: re-rendered config copied in, then restarted)."""
        with self._operation():
            registry = self._registry()
            wanted = fault_registry.validate(faults, registry)
            old = list(self.state.faults)
            affected = fault_registry.services_to_restart(old, wanted, registry, self.definition)
            with self._update() as state:
                state.faults = wanted
            for level in LEVELS:
                for name in level:
                    if name not in affected:
                        continue
                    self.progress(f"harness: faults changed for {name}: restarting")
                    if name == "nginx":
                        self._restart_nginx_with_new_config()
                    else:
                        self._recreate(name)

    def _restart_nginx_with_new_config(self) -> None:
        container = self._container("nginx")
        if container is None:
            self._start_one("nginx")
            return
        container.reload()
        if container.status == "running":
            container.put_archive(NGINX_DIR, self._nginx_files())
            container.stop(timeout=STOP_TIMEOUT_S)
        else:
            # The volume holds the config: copy it in through a started container's view.
            container.start()
            container.put_archive(NGINX_DIR, self._nginx_files())
            container.stop(timeout=STOP_TIMEOUT_S)
        self._start_one("nginx")

    def status(self) -> dict[str, ServiceStatus]:
        state = self._refresh()
        result: dict[str, ServiceStatus] = {}
        for name, record in state.services.items():
            container = self._container(name)
            running = False
            detail_parts = []
            pid = None
            if container is not None:
                running = container.status == "running"
                pid = container.attrs.get("State", {}).get("Pid") or None
                detail_parts.append(f"container {container.name} {container.status}")
            else:
                detail_parts.append("no container")
            if record.desired == "running":
                current = ServiceState.RUNNING if running else ServiceState.FAILED
            else:
                current = ServiceState.RUNNING if running else ServiceState.STOPPED
            if record.ready_s is not None:
                detail_parts.append(f"ready in {record.ready_s:.2f} s")
            if record.faults:
                detail_parts.append(f"faults: {','.join(record.faults)}")
            result[name] = ServiceStatus(
                url=record.url,
                state=current,
                pid=pid if running else None,
                detail="; ".join(detail_parts),
            )
        return result


# -------------------------------------------------------------------------------------------------
# module-level entry points (harness/stack/__init__.py looks these up)


def open_stack(
    profile: Profile, *, progress: Progress | None = None, **kwargs: Any
) -> ContainersStack:
    return ContainersStack(profile, progress=progress, **kwargs)


def attach(
    state_path: str | os.PathLike[str], *, progress: Progress | None = None
) -> ContainersStack:
    return ContainersStack.attach(state_path, progress=progress)


def remove_run(engine: image_tools.Engine, run_id: str) -> None:
    """Remove every container, network and volume labelled ``harness.run=<run_id>``."""
    client = engine.client
    selector = {"label": f"{LABEL_RUN}={run_id}"}
    # sparse: no per-container inspect, which races with other processes removing theirs.
    containers = client.containers.list(all=True, sparse=True, filters=selector)

    def remove(container: Any) -> None:
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)

    with ThreadPoolExecutor(max_workers=max(1, len(containers))) as pool:
        list(pool.map(remove, containers))
    for network in client.networks.list(filters=selector):
        with contextlib.suppress(Exception):
            network.remove()
    for volume in client.volumes.list(filters=selector):
        with contextlib.suppress(Exception):
            volume.remove(force=True)


def _run_is_orphan(run_dir: str | None, include_detached: bool) -> bool:
    from harness.stack.reaper import owner_alive

    if not run_dir:
        return True
    path = Path(run_dir) / "state.json"
    if not path.exists():
        # A start-up writes its state before it creates anything, so no state file means
        # the run dir is gone (harness down, or the run-dir reaper found its owner dead).
        return not Path(run_dir).exists() or time.time() - Path(run_dir).stat().st_mtime > 600
    try:
        state = read_state(path)
    except StackError:
        return True
    if state.owner is None:
        return include_detached
    return not owner_alive(state)


def reap_orphans(
    *, include_detached: bool = False, engine: image_tools.Engine | None = None
) -> list[str]:
    """Remove the containers, networks and volumes of runs whose owner died (by label);
    return their run ids. A no-op when no engine answers."""
    if engine is None:
        try:
            engine = image_tools.connect(timeout=30)
        except image_tools.EngineUnavailable:
            return []
    client = engine.client
    runs: dict[str, str | None] = {}
    for kind in (
        client.containers.list(all=True, sparse=True, filters={"label": LABEL_RUN}),
        client.networks.list(filters={"label": LABEL_RUN}),
        client.volumes.list(filters={"label": LABEL_RUN}),
    ):
        for item in kind:
            labels = item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels") or {}
            run_id = labels.get(LABEL_RUN)
            if run_id and (run_id not in runs or runs[run_id] is None):
                runs[run_id] = labels.get(LABEL_RUN_DIR)
    reaped = []
    for run_id, run_dir in sorted(runs.items()):
        if _run_is_orphan(run_dir, include_detached):
            remove_run(engine, run_id)
            if run_dir:
                shutil.rmtree(run_dir, ignore_errors=True)
            reaped.append(run_id)
    return reaped


# -------------------------------------------------------------------------------------------------
# python -m harness.stack.containers {bench,reap,images}


def _remove_images(engine: image_tools.Engine) -> list[str]:
    removed = image_tools.prune_images(engine, keep=set())
    with contextlib.suppress(Exception):
        engine.client.images.prune(filters={"dangling": True})
    shutil.rmtree(image_tools.CACHE_DIR / "wheels", ignore_errors=True)
    return removed


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m harness.stack.containers")
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="measure `up` (and `down`) of the containers stack")
    bench.add_argument("--profile", default="reference-containers")
    bench.add_argument(
        "--cold",
        action="store_true",
        help="remove the stack's images and wheel cache first (base image stays)",
    )
    bench.add_argument("--warm-runs", type=int, default=1, help="warm runs after the first")
    reap = sub.add_parser("reap", help="remove containers of runs whose owner died")
    reap.add_argument("--all", action="store_true", help="also detached runs")
    sub.add_parser("images", help="build (or find) the stack's images and print their tags")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.command == "reap":
        for run_id in reap_orphans(include_detached=args.all):
            print(f"reaped run {run_id}")
        return 0
    engine = image_tools.connect()
    if args.command == "images":
        for image, built in image_tools.ensure_images(engine).items():
            print(
                f"{image:<9} {built.tag} {'built' if built.built else 'cached'} "
                f"{built.seconds:.1f} s"
            )
        return 0
    from harness.profile import load_profile

    profile = load_profile(args.profile)
    if args.cold:
        removed = _remove_images(engine)
        say(f"bench: removed {len(removed)} image(s) and the wheel cache")
    results = []
    for run in range(1 + max(0, args.warm_runs)):
        stack = ContainersStack(profile, progress=say)
        began = time.monotonic()
        stack.up()
        up_s = time.monotonic() - began
        kind = "cold" if stack.state.extra.get("images_built") else "warm"
        began = time.monotonic()
        stack.down()
        down_s = time.monotonic() - began
        results.append((kind, up_s, stack.timings.get("images", 0.0), down_s))
        print(
            f"run {run + 1}: {kind} up {up_s:.1f} s (images {results[-1][2]:.1f} s, "
            f"containers {stack.timings.get('containers', 0.0):.1f} s), down {down_s:.1f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
