"""The containers stack: a stack definition's services as containers on a Docker-API engine.

One network per run (services reach each other by their names as aliases), images built
locally (``harness.stack.images``), every port published on 127.0.0.1 only, readiness checked
from the host through the published ports with the same probes as the local provider. Works on
Docker and on Podman's Docker-API service (``scripts/setup-containers``); see
docs/containers.md. The run's state file is the shared :class:`~harness.stack.state.StackState`
(``provider = "containers"``; container, network and image names in ``extra``), so any process
can attach.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from harness.stack import images as image_tools
from harness.stack.base import ServiceState, ServiceStatus, StackError
from harness.stack.containers import files
from harness.stack.containers.bluegreen import BlueGreenOps
from harness.stack.containers.network import create_network, nginx_network
from harness.stack.containers.ops import STOP_TIMEOUT_S
from harness.stack.containers.runs import reap_orphans, remove_run
from harness.stack.definition import StackDefinition
from harness.stack.managed import Progress, release_key
from harness.stack.state import ServiceRecord, StackState, write_state

PROVIDER = "containers"
LOG_TAIL_LINES = 30


class ContainersStack(BlueGreenOps):
    """A :class:`~harness.stack.base.Stack` of containers on a Docker-API engine."""

    provider = PROVIDER

    def __init__(
        self,
        state: StackState,
        definition: StackDefinition,
        *,
        progress: Progress | None = None,
        engine: image_tools.Engine | None = None,
    ) -> None:
        super().__init__(state, definition, progress=progress)
        self._engine = engine
        self.timings: dict[str, float] = {}

    @classmethod
    def _check_definition(cls, definition: StackDefinition) -> None:
        missing = [n for n, s in definition.services.items() if s.container is None]
        if missing:
            raise StackError(
                f"{definition.path}: the containers provider needs services.<name>.container "
                f"for {', '.join(missing)}"
            )
        from harness.stack.requires import check_available

        # Every image is built from the checkout's container files.
        check_available(definition, [image_tools.CONTAINER_FILES])

    # -- plan ------------------------------------------------------------------------------------
    def _allocate(self) -> None:
        from harness.stack.paths import new_run_dir

        state = self.state
        run_dir = new_run_dir(self.name)
        state.run_dir = str(run_dir)
        state.extra["run_id"] = secrets.token_hex(4)
        state.extra["engine"] = f"{self.engine.name} {self.engine.version} at {self.engine.url}"
        state.extra["network"] = f"harness-{state.extra['run_id']}"
        state.extra["nginx_network"] = nginx_network(self.engine)
        urls = self._allocate_addresses()
        for name, service in self.definition.services.items():
            folder = run_dir / name
            folder.mkdir(exist_ok=True)
            state.services[name] = ServiceRecord(
                name=name,
                url=urls.get(name),  # its own URL: "app" in state.urls is the public one
                stop_signal=service.signal,
                log=f"container:{self._container_name(name)}",
                output=str(folder / "previous.log"),
            )

    # -- up / down -------------------------------------------------------------------------------
    def up(self) -> None:
        """Build (or find) the images, then start every service once its dependencies are
        ready; all or nothing."""
        started = time.monotonic()
        reaped = reap_orphans(engine=self.engine)
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
            built = image_tools.ensure_images(
                self.engine, packages=tuple(self.definition.image_packages)
            )
            self.timings["images"] = time.monotonic() - began
            for image, result in built.items():
                self.state.extra[f"image.{image}"] = result.tag
                verb = "built" if result.built else "cached"
                self.progress(f"harness: image {verb}: {result.tag} ({result.seconds:.1f} s)")
            self.state.extra["images_built"] = ",".join(i for i, r in built.items() if r.built)
            began = time.monotonic()
            self._tls()
            create_network(
                self.client,
                self.state.extra["network"],
                self._labels(),
                self.state.extra,
                self._nginx_on_host,
            )
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

    def _tls(self) -> None:
        from harness.stack.certs import make_tls_material

        material = make_tls_material(self.run_dir / "tls")
        self.state.ca_bundle = str(material.ca_cert)

    def _start_all(self) -> None:
        """Every service, each as soon as what it depends on is ready; the root cause first."""
        futures: dict[str, Future[None]] = {}

        def run(name: str) -> None:
            for dependency in self._service(name).depends_on:
                try:
                    futures[dependency].result()
                except BaseException:
                    raise StackError(f"{name} not started: {dependency} did not come up") from None
            self._start_one(name)

        errors: list[BaseException] = []
        workers = max(1, len(self.services))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="up") as pool:
            for level in self.definition.levels():  # dependencies before their dependents
                for name in level:
                    futures[name] = pool.submit(run, name)
            for future in futures.values():
                try:
                    future.result()
                except BaseException as exc:
                    errors.append(exc)
        errors.sort(key=lambda e: " not started: " in str(e))
        if errors:
            raise errors[0]

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
        self._reload_proxies_of(service)
        url = self.state.services[service].url or ""
        self.progress(f"harness: ready: {service:<13} {elapsed:5.2f} s  {url}")

    def _reload_proxies_of(self, service: str) -> None:
        """nginx resolves its upstream's alias when it loads its config: after that container
        changed (a new address), make it look again. Harmless when nginx is not running."""
        if self._nginx_on_host:
            return  # it proxies to the published port, which never changes
        for name, definition in self.definition.services.items():
            if definition.kind != "nginx" or service not in definition.depends_on:
                continue
            container = self._container(name)
            if container is None:
                continue
            container.reload()
            if container.status == "running":
                with contextlib.suppress(Exception):
                    container.kill(signal="SIGHUP")
                    time.sleep(0.3)  # the new workers take over within a few ms

    def _wait_ready(self, service: str, began: float) -> None:
        check = self._service(service).health.model_copy()
        check.timeout_s = max(check.timeout_s, self._spec(service).ready_timeout_s)
        check.interval_s = max(check.interval_s, 0.1)
        container = self._container(service)

        def exited() -> str | None:
            if container is None:
                return None
            container.reload()
            if container.status not in ("exited", "dead"):
                return None
            code = container.attrs.get("State", {}).get("ExitCode")
            return f"container {container.name}, exit code {code}"

        self._poll_ready(service, check, began, exited=exited, tail=lambda: self._tail(service))

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

    # -- logs ------------------------------------------------------------------------------------
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

    # -- lifecycle -------------------------------------------------------------------------------
    def _stop_one(self, name: str) -> None:
        with self._update() as state:
            state.services[name].desired = "stopped"
        container = self._container(name)
        if container is not None:
            container.stop(timeout=STOP_TIMEOUT_S)

    def _recreate(self, service: str) -> None:
        """A new container for ``service`` (new environment or release); data volumes stay."""
        with self._update() as state:
            state.services[service].desired = "stopped"
        self._remove(service)
        self._start_one(service)

    def _refault(self, name: str) -> None:
        """A container's environment is fixed: recreate it (nginx: copy a new config in)."""
        if self._service(name).kind == "nginx":
            self._restart_nginx_with_new_config(name)
        else:
            self._recreate(name)

    def _restart_nginx_with_new_config(self, name: str) -> None:
        container = self._container(name)
        if container is None:
            self._start_one(name)
            return
        container.reload()
        if container.status != "running":
            container.start()  # the volume holds the config: copy it in through a started one
        container.put_archive(files.NGINX_DIR, self._nginx_bytes(name))
        container.stop(timeout=STOP_TIMEOUT_S)
        self._start_one(name)

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the service's container (its environment, its user; paths are
        paths inside the container; ``container.exec_env`` is added)."""
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
        env = dict(self._spec(service).exec_env) or None
        result = container.exec_run(list(argv), demux=True, environment=env)
        out, err = result.output if isinstance(result.output, tuple) else (result.output, b"")
        return subprocess.CompletedProcess(
            list(argv),
            int(result.exit_code if result.exit_code is not None else 125),
            (out or b"").decode("utf-8", "replace"),
            (err or b"").decode("utf-8", "replace"),
        )

    def swap(self, service: str, release: str) -> None:
        """Recreate ``service`` at another release; runs its ``container.downgrade_argv`` in a
        one-off container first when the release goes down."""
        with self._operation():
            if not self.definition.uses_release(self._checked(service)):
                raise StackError(f"service {service!r} has no release to swap")
            old = self.state.release
            with self._update() as state:
                state.services[service].desired = "stopped"
            self._remove(service)
            downgrade = self._spec(service).downgrade_argv
            if downgrade and release_key(release) < release_key(old):
                context = self._context(service)
                context["release"] = release
                argv = [context.render(p, "container.downgrade_argv") for p in downgrade]
                done = self._one_off(service, argv)
                if done.returncode != 0:
                    self._start_one(service)
                    raise StackError(
                        f"downgrade of {service!r} to release {release} failed "
                        f"(exit {done.returncode}): {(done.stdout + done.stderr).strip()[-2000:]}"
                    )
            with self._update() as state:
                state.release = release
            self._start_one(service)

    def status(self) -> dict[str, ServiceStatus]:
        state = self._refresh()
        result: dict[str, ServiceStatus] = {}
        for name, record in state.services.items():
            container: Any = self._container(name)
            running, pid, parts = False, None, []
            if container is not None:
                running = container.status == "running"
                pid = container.attrs.get("State", {}).get("Pid") or None
                parts.append(f"container {container.name} {container.status}")
            else:
                parts.append("no container")
            if record.desired == "running":
                current = ServiceState.RUNNING if running else ServiceState.FAILED
            else:
                current = ServiceState.RUNNING if running else ServiceState.STOPPED
            if record.ready_s is not None:
                parts.append(f"ready in {record.ready_s:.2f} s")
            if record.faults:
                parts.append(f"faults: {','.join(record.faults)}")
            result[name] = ServiceStatus(
                url=state.urls.get(name, record.url),  # "app": the public URL, as url() gives
                state=current,
                pid=pid if running else None,
                detail="; ".join(parts),
            )
        return result
