"""The run's engine objects: names, labels, creating, running once and removing containers.

:class:`ContainerOps` is the containers provider's layer that talks to the engine about one
service at a time; :class:`~harness.stack.containers.stack.ContainersStack` builds the stack's
lifecycle on it. What each service's container is (image, port, command, environment, limits,
volume) comes from the stack definition's ``[services.<name>.container]`` tables.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.stack import images as image_tools
from harness.stack.base import StackError
from harness.stack.containers import files
from harness.stack.containers.runs import LABEL_PROFILE, LABEL_RUN, LABEL_RUN_DIR, LABEL_SERVICE
from harness.stack.definition import ContainerDef, TemplateContext
from harness.stack.managed import ManagedStack

STOP_TIMEOUT_S = 10
START_ATTEMPTS = 3
START_RETRY_PAUSE_S = 2.0


def engine_fault(exc: BaseException) -> bool:
    """The engine failed on its side (a 5xx): worth one more start, unlike a request it refused."""
    import docker.errors

    return isinstance(exc, docker.errors.APIError) and exc.is_server_error()


class ContainerOps(ManagedStack):
    """Engine access for one run (``state.extra`` holds its run id, network and images)."""

    _engine: image_tools.Engine | None

    @property
    def engine(self) -> image_tools.Engine:
        if self._engine is None:
            self._engine = image_tools.connect()
        return self._engine

    @property
    def client(self) -> Any:
        return self.engine.client

    @property
    def run_id(self) -> str:
        return self.state.extra["run_id"]

    @property
    def _nginx_on_host(self) -> bool:
        return self.state.extra.get("nginx_network") == "host"

    def _spec(self, service: str) -> ContainerDef:
        spec = self._service(service).container
        if spec is None:
            raise StackError(
                f"{self.definition.path}: services.{service}.container: the containers "
                "provider needs it (image, port, command...)"
            )
        return spec

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

    def _container(self, service: str) -> Any | None:
        import docker.errors

        try:
            return self.client.containers.get(self._container_name(service))
        except docker.errors.NotFound:
            return None

    def _is_running(self, name: str) -> bool:
        container = self._container(name)
        if container is None:
            return False
        container.reload()
        return bool(container.status == "running")

    # -- what goes into a container --------------------------------------------------------------
    def _env(self, service: str, context: TemplateContext | None = None) -> dict[str, str]:
        context = context or self._context(service)
        env = context.render_all(self._spec(service).env, f"services.{service}.container.env")
        if self._service(service).profile_env:
            env.update(self.state.profile_env)
        return env

    def _command(self, service: str, context: TemplateContext | None = None) -> list[str]:
        context = context or self._context(service)
        where = f"services.{service}.container.command"
        return [context.render(part, where) for part in self._spec(service).command]

    def _nginx_bytes(self, service: str, context: TemplateContext | None = None) -> bytes:
        """The tar of ``service``'s (an nginx) config and TLS material (``context``: other
        upstream ports, for a blue-green switch)."""
        definition = self._service(service)
        context = context or self._context(service)
        if self._nginx_on_host:  # on the host: the app's published port, as the local stack
            upstream = context.render(definition.options["upstream"], "options.upstream")
        else:  # on the network: the app by its alias, as the container options say
            upstream = context.render(
                self._spec(service).options.get("upstream", definition.options["upstream"]),
                f"services.{service}.container.options.upstream",
            )
        ports = self.state.ports
        config = files.nginx_config(
            http_port=ports[f"{service}.http"],
            https_port=ports[f"{service}.https"],
            upstream=upstream,
            tls_legacy=self._legacy_tls(service),
            on_host=self._nginx_on_host,
        )
        return files.nginx_files(config, self.run_dir / "tls")

    # -- create, run once, remove ----------------------------------------------------------------
    def _create(
        self, service: str, *, green: TemplateContext | None = None, host_port: int | None = None
    ) -> Any:
        """Create and start the container of ``service`` (it must not exist). ``green``: the
        context of a blue-green drill's second instance, published on ``host_port``."""
        from docker.types import EndpointConfig

        state = self.state
        spec = self._spec(service)
        is_nginx = self._service(service).kind == "nginx"
        container = files.container_class()(state.extra[f"image.{spec.image}"])
        container.with_name(self._container_name(service) + ("-green" if green else ""))
        container.with_envs(**self._env(service, green))
        command = self._command(service, green)
        if command:
            container.with_command(command)
        host_nginx = is_nginx and self._nginx_on_host
        if is_nginx and not host_nginx:
            for port_name in self._service(service).ports:
                port = state.ports[f"{service}.{port_name}"]
                container.ports[f"{port}/tcp"] = ("127.0.0.1", port)  # same number inside
        elif not is_nginx and spec.port is not None:
            container.ports[f"{spec.port}/tcp"] = ("127.0.0.1", host_port or state.ports[service])
        container.with_tmpfs_mount("/tmp", "size=64m")  # noqa: S108 - in the container
        if spec.volume:
            container.with_volume_mapping(self._volume_name(service), spec.volume, "rw")
        # Hardening (SC-04) that also keeps a runaway test from starving the machine.
        kwargs: dict[str, Any] = {
            "labels": self._labels(service),
            "read_only": True,
            "security_opt": ["no-new-privileges"],
            "cap_drop": ["ALL"],
            "pids_limit": 256,
            "stop_signal": self._service(service).stop_signal,
            "mem_limit": spec.mem_limit,
            "nano_cpus": int(spec.cpus * 1_000_000_000),
        }
        if host_nginx:
            kwargs["network_mode"] = "host"
        else:
            network = state.extra["network"]
            # Green gets no alias: the service's name keeps meaning blue on the network.
            endpoint: dict[str, Any] = {"aliases": [] if green else [service]}
            if is_nginx:
                endpoint["ipv4_address"] = state.extra["nginx_ip"]
            version = self.client.api.api_version
            kwargs["network"] = network
            kwargs["networking_config"] = {network: EndpointConfig(version, **endpoint)}
            kwargs["hostname"] = service.replace("_", "-")
        container.with_kwargs(**kwargs)
        if is_nginx:
            container.with_copy_into_container(self._nginx_bytes(service), files.NGINX_DIR)
        if spec.volume:
            self._ensure_volume(service)
        name = self._container_name(service) + ("-green" if green else "")
        for attempt in range(START_ATTEMPTS):
            try:
                container.start()
                break
            except Exception as exc:  # noqa: BLE001 - the engine's own message says it best
                self._remove_quietly(name)
                # The engine's runtime fails now and then on a busy machine ("write child:
                # broken pipe" from runc, a 500): that start is tried again. Anything else (a
                # bad mount, a port taken, a missing image) is the setup's and fails at once.
                if not engine_fault(exc) or attempt + 1 == START_ATTEMPTS:
                    tries = f"{attempt + 1} attempts" if attempt else "1 attempt"
                    raise StackError(
                        f"could not start the {service} container ({tries}): {exc}"
                    ) from None
                time.sleep(START_RETRY_PAUSE_S)
        return container.get_wrapped_container()

    def _remove_quietly(self, name: str) -> None:
        import docker.errors

        with contextlib.suppress(docker.errors.DockerException):
            self.client.containers.get(name).remove(force=True)

    def _ensure_volume(self, service: str) -> None:
        import docker.errors

        name = self._volume_name(service)
        try:
            self.client.volumes.get(name)
        except docker.errors.NotFound:
            self.client.volumes.create(name, labels=self._labels(service))

    def _one_off(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in a throwaway container of ``service``'s image, network and env."""
        spec = self._spec(service)
        container = self.client.containers.run(
            self.state.extra[f"image.{spec.image}"],
            argv,
            name=f"{self._container_name(service)}-once-{secrets.token_hex(2)}",
            detach=True,
            environment=self._env(service),
            labels=self._labels(service),
            network=self.state.extra["network"],
            volumes={self._volume_name(service): {"bind": spec.volume, "mode": "rw"}}
            if spec.volume
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

    def _archive(self, service: str) -> Path:
        return self.run_dir / service / "previous.log"

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
