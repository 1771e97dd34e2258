"""The local provider: every service a supervised process on a free loopback port.

Independent services start in parallel (threads), each as soon as what it depends on is
ready, so a warm ``up`` costs about as long as the slowest chain (PostgreSQL, then the app,
then nginx). Everything a later process needs to operate the stack is in the run dir's state
file; any process may :meth:`LocalStack.attach` to it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from harness.stack import faults as fault_registry
from harness.stack import nginx_reload, supervisor
from harness.stack.base import (
    Instance,
    ServiceState,
    ServiceStatus,
    StackError,
)
from harness.stack.definition import ServiceDef, StackDefinition, TemplateContext
from harness.stack.managed import ManagedStack, Progress, free_ports, release_key
from harness.stack.paths import new_run_dir, service_user
from harness.stack.postgres import database_identity
from harness.stack.reaper import reap_orphans
from harness.stack.state import ProcessRecord, ServiceRecord, StackState, write_state

__all__ = ["LocalStack", "Progress"]
LOG_TAIL_LINES = 30


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class LocalStack(ManagedStack):
    """A :class:`~harness.stack.base.Stack` of local processes."""

    provider = "local"

    def __init__(
        self, state: StackState, definition: StackDefinition, *, progress: Progress | None = None
    ) -> None:
        super().__init__(state, definition, progress=progress)
        self._supervisor = supervisor.Supervisor()
        # Set when a start-up is abandoned (a failure elsewhere, Ctrl-C): waiting threads stop.
        self._cancel = threading.Event()

    @classmethod
    def _check_definition(cls, definition: StackDefinition) -> None:
        from harness.stack.nginx import DEFAULT_TEMPLATE
        from harness.stack.requires import check_available

        nginx = any(service.kind == "nginx" for service in definition.services.values())
        check_available(definition, [DEFAULT_TEMPLATE] if nginx else [])

    # -- paths and environments -----------------------------------------------------------------
    def _service_dir(self, name: str) -> Path:
        return self.run_dir / name

    def _env(self, name: str, context: TemplateContext | None = None) -> dict[str, str]:
        service = self._service(name)
        context = context or self._context(name)
        env = {k: os.environ[k] for k in service.inherit_env if k in os.environ}
        env.update(context.render_all(service.env, f"services.{name}.env"))
        if service.profile_env:
            env.update(self.state.profile_env)
        return env

    def _allocate(self, run_dir: Path) -> None:
        """Ports, URLs and the service records, before anything starts."""
        state = self.state
        state.run_dir = str(run_dir)
        urls = self._allocate_addresses()
        for name, service in self.definition.services.items():
            folder = self._service_dir(name)
            folder.mkdir(exist_ok=True)
            folder.chmod(0o711)
            output = folder / "output.log"
            log = (
                self._context(name).render(service.log, f"services.{name}.log")
                if service.log
                else None
            )
            state.services[name] = ServiceRecord(
                name=name,
                url=urls.get(name),  # its own URL: "app" in state.urls is the public one
                stop_signal=service.signal,
                log=log or str(output),
                output=str(output),
            )

    # -- up / down -------------------------------------------------------------------------------
    def up(self) -> None:
        """Start every service, each once its dependencies are ready; all or nothing."""
        self._cancel.clear()
        reap_orphans()
        started = time.monotonic()
        run_dir = new_run_dir(self.name)
        self._allocate(run_dir)
        write_state(self.state)
        self.progress(f"harness: starting stack {self.name!r} in {run_dir}")
        try:
            if self.state.faults:  # an unknown fault fails here, before anything starts
                fault_registry.validate(self.state.faults, self._registry())
            self._start_many(list(self.definition.services))
        except BaseException:
            self.down()
            raise
        self.progress(f"harness: stack {self.name!r} up in {time.monotonic() - started:.1f} s")

    def _start_many(self, names: list[str]) -> None:
        self._cancel.clear()
        wanted = set(names)
        futures: dict[str, Future[None]] = {}
        errors: list[BaseException] = []

        def run(name: str) -> None:
            for dependency in self._service(name).depends_on:
                if dependency in futures:
                    try:
                        futures[dependency].result()
                    except BaseException:
                        raise StackError(
                            f"{name} not started: {dependency} did not come up"
                        ) from None
            self._start_one(name)

        with ThreadPoolExecutor(max_workers=max(1, len(wanted)), thread_name_prefix="up") as pool:
            for level in self.definition.levels():
                for name in level:
                    if name in wanted:
                        futures[name] = pool.submit(run, name)
            try:
                for name, future in futures.items():
                    try:
                        future.result()
                    except StackError as exc:
                        if self._service(name).required:
                            errors.append(exc)
                            self._cancel.set()  # no point waiting for the others
                        else:
                            self.progress(f"harness: optional service {name} did not start: {exc}")
            except BaseException:
                self._cancel.set()  # Ctrl-C or SIGTERM: let the pool's threads stop waiting
                raise
        # The root cause first: "x not started: y did not come up" only repeats it.
        errors.sort(key=lambda e: " not started: " in str(e) or "abandoned" in str(e))
        if errors:
            raise errors[0]

    def _start_one(self, name: str) -> None:
        service = self._service(name)
        with self._update() as state:
            record = state.services[name]
            if supervisor.is_alive(record.process):
                return
            record.desired = "running"
        context = self._context(name)
        folder = self._service_dir(name)
        argv = [context.render(part, f"services.{name}.argv") for part in service.argv]
        if service.kind == "postgres":
            from harness.stack.postgres import prepare_data_dir

            prepare_data_dir(folder, *database_identity(service.options))
        elif service.kind == "nginx":
            argv = self._prepare_nginx(name, service, context)
        if not argv:
            raise StackError(f"services.{name}: no argv to start it with")
        env = self._env(name, context)
        began = time.monotonic()
        try:
            process = self._supervisor.spawn(
                argv,
                env=env,
                log_path=Path(self.state.services[name].output),
                cwd=folder,
                user=service_user() if service.unprivileged else None,
            )
        except OSError as exc:  # a missing binary, a bad path: say which service and how
            # Name the path that failed (the log file or working folder, not only the binary).
            where = exc.filename or argv[0]
            raise StackError(
                f"service {name!r} could not start {argv[0]!r}: {where}: {exc.strerror or exc} "
                "(`harness doctor` lists what to install)"
            ) from None
        with self._update() as state:
            record = state.services[name]
            record.process = process
            record.started_at = time.time()
            record.faults = self._faults_of(name)
        self._wait_ready(name, service, began)
        elapsed = time.monotonic() - began
        with self._update() as state:
            state.services[name].ready_s = round(elapsed, 3)
        url = self.state.services[name].url or ""
        self.progress(f"harness: ready: {name:<13} {elapsed:5.2f} s  {url}")

    def _prepare_nginx(self, name: str, service: ServiceDef, context: TemplateContext) -> list[str]:
        from harness.stack.certs import make_tls_material
        from harness.stack.nginx import nginx_argv, render_nginx_config

        folder = self._service_dir(name)
        tls_dir = self.run_dir / "tls"
        with self._mutex:
            if not (tls_dir / "ca.pem").exists():
                material = make_tls_material(tls_dir, extra_ips=[self.state.listen])
                with self._update() as state:
                    state.ca_bundle = str(material.ca_cert)
        options = context.render_all(service.options, f"services.{name}.options")
        config = render_nginx_config(
            http_port=self.state.ports[f"{name}.http"],
            https_port=self.state.ports[f"{name}.https"],
            upstream=options["upstream"],
            cert=tls_dir / "server.pem",
            key=tls_dir / "server.key",
            runtime_dir=folder,
            tls_legacy=self._legacy_tls(name),
            listen=self.state.listen,
        )
        conf = folder / "nginx.conf"
        # In one step: a running master re-reads this file on a blue-green switch's reload.
        nginx_reload.write_config(conf, config)
        return nginx_argv(conf, folder)

    def _wait_ready(self, name: str, service: ServiceDef, began: float) -> None:
        record = self.state.services[name]

        def exited() -> str | None:
            if supervisor.is_alive(record.process):
                return None
            code = self._supervisor.exit_code(record.process.pid) if record.process else None
            return f"exit code {code}"

        def tail() -> str:
            return f"({record.output})\n{_tail(Path(record.output))}"

        self._poll_ready(name, service.health, began, exited=exited, tail=tail, cancel=self._cancel)

    def down(self) -> None:
        """Stop every service (dependents first) and remove the run dir. Idempotent."""
        if not self.state.run_dir or not self.run_dir.exists():
            return
        with self._operation():
            for name in self.definition.services:  # a blue-green drill's second instance
                self._stop_green(name)
            for level in reversed(self.definition.levels()):
                with ThreadPoolExecutor(max_workers=max(1, len(level))) as pool:
                    list(pool.map(self._stop_one, level))
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self._replenish_spares()
        self.progress(f"harness: stack {self.name!r} is down")

    def _replenish_spares(self) -> None:
        """Leave a ready PostgreSQL data dir for the next start-up (see postgres.make_spare)."""
        for service in self.definition.services.values():
            if service.kind == "postgres":
                from harness.stack.postgres import make_spare

                with contextlib.suppress(StackError, OSError):
                    make_spare(*database_identity(service.options))

    def _stop_one(self, name: str) -> None:
        service = self._service(name)
        with self._update() as state:
            record = state.services[name]
            record.desired = "stopped"
            process = record.process
        if process is not None:
            supervisor.stop(process, sig=service.signal, timeout=service.stop_timeout_s)
            self._supervisor.forget(process.pid)
        with self._update() as state:
            state.services[name].process = None

    # -- logs and lifecycle ----------------------------------------------------------------------
    def _log_path(self, service: str) -> Path:
        self._service(service)
        return Path(self._refresh().services[service].log)

    def logs(self, service: str, since: int = 0) -> list[str]:
        try:
            text = self._log_path(service).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return text.splitlines()[since:]

    def _is_running(self, name: str) -> bool:
        return supervisor.is_alive(self.state.services[name].process)

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` with ``service``'s environment (python -> the stack's interpreter)."""
        self._refresh()
        definition = self._service(service)
        if not argv:
            raise StackError("exec needs a command")
        env = self._env(service)
        command = list(argv)
        if command[0] in ("python", "python3"):
            command[0] = self.state.python
        if definition.kind == "postgres":
            from harness.stack.postgres import pg_bin_dir

            tool = pg_bin_dir() / command[0]
            if "/" not in command[0] and tool.exists():
                command[0] = str(tool)
            user, database = database_identity(definition.options)
            env.update(
                PGHOST="127.0.0.1",
                PGPORT=str(self.state.ports[service]),
                PGUSER=user,
                PGDATABASE=database,
            )
        return subprocess.run(
            command,
            env=env,
            cwd=self._service_dir(service),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def swap(self, service: str, release: str) -> None:
        """Run ``service`` at another release; migrates the schema down first when needed."""
        with self._operation():
            definition = self._service(service)
            if not self.definition.uses_release(service):
                raise StackError(f"service {service!r} has no release to swap")
            old = self.state.release
            self._stop_one(service)
            with self._update() as state:
                state.release = release
            if definition.downgrade_argv and release_key(release) < release_key(old):
                context = self._context(service)
                argv = [
                    context.render(p, f"services.{service}.downgrade_argv")
                    for p in definition.downgrade_argv
                ]
                done = subprocess.run(
                    argv,
                    env=self._env(service, context),
                    cwd=self._service_dir(service),
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
                if done.returncode != 0:
                    with self._update() as state:
                        state.release = old
                    self._start_one(service)
                    raise StackError(
                        f"downgrade of {service!r} to release {release} failed "
                        f"(exit {done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}"
                    )
            self._start_one(service)

    # -- blue-green (harness.stack.base.BlueGreen) ------------------------------------------------
    # Green is a second process of the service on a port of its own, recorded in the state's
    # ``extra`` (``green.<service>``: its process, ``green.<service>.port``), so another process
    # attached to the stack can stop it; which instance a proxy points at is
    # ``upstream.<proxy>``. Blue stays the service's own record and port.

    def _green_context(self, service: str, port: int, release: str) -> TemplateContext:
        context = self._context(service)
        context["port"] = port
        context["ports"] = {**self.state.ports, service: port}
        context["release"] = release
        context["instance"] = "green"
        return context

    def _green_process(self, service: str) -> ProcessRecord | None:
        raw = self.state.extra.get(f"green.{service}")
        return ProcessRecord.model_validate_json(raw) if raw else None

    def start_green(self, service: str, release: str) -> str:
        with self._operation():
            definition = self._service(service)
            if not self.definition.uses_release(service) or not definition.url:
                raise StackError(f"service {service!r} has no release or URL to run twice")
            self._stop_green(service)  # a leftover of an interrupted drill
            port = free_ports(1)[0]
            context = self._green_context(service, port, release)
            argv = [context.render(p, f"services.{service}.argv") for p in definition.argv]
            url = context.render(definition.url, f"services.{service}.url")
            output = self._service_dir(service) / "green-output.log"
            began = time.monotonic()
            process = self._supervisor.spawn(
                argv,
                env=self._env(service, context),
                log_path=output,
                cwd=self._service_dir(service),  # blue's folder: the same files (keyring...)
                user=service_user() if definition.unprivileged else None,
            )
            with self._update() as state:
                state.extra[f"green.{service}"] = process.model_dump_json()
                state.extra[f"green.{service}.port"] = str(port)
            self._poll_ready(
                service,
                definition.health,
                began,
                exited=lambda: None if supervisor.is_alive(process) else "green exited",
                tail=lambda: f"({output})\n{_tail(output)}",
                cancel=self._cancel,
                url=url,
            )
            self.progress(f"harness: ready: {service} (green) {time.monotonic() - began:5.2f} s")
            return url

    def switch(self, proxy: str, service: str, to: Instance) -> float:
        return self._switch(proxy, service, to, drain=False)

    def _switch(self, proxy: str, service: str, to: Instance, *, drain: bool) -> float:
        """``drain``: return only once the old workers are gone (nothing in flight to the
        instance switched away from), for a caller that stops it at once."""
        with self._operation():
            definition = self._service(proxy)
            record = self.state.services[proxy].process
            if definition.kind != "nginx" or not supervisor.is_alive(record) or record is None:
                raise StackError(f"{proxy!r} is not a running nginx service to switch")
            context = self._context(proxy)
            if to == "green":
                port = self.state.extra.get(f"green.{service}.port")
                if not port or not supervisor.is_alive(self._green_process(service)):
                    raise StackError(f"no green instance of {service!r} is running")
                context["ports"] = {**self.state.ports, service: int(port)}
            self._prepare_nginx(proxy, definition, context)  # rewrites nginx.conf
            seconds = nginx_reload.reload_master(record.pid, drain=drain)
            with self._update() as state:
                state.extra[f"upstream.{proxy}"] = to
            return seconds

    def stop_instance(self, service: str, which: Instance) -> None:
        with self._operation():
            if which == "blue":
                self._stop_one(self._checked(service))
            else:
                self._stop_green(service)

    def _stop_green(self, service: str) -> None:
        process = self._green_process(service)
        if process is not None:
            definition = self._service(service)
            supervisor.stop(process, sig=definition.signal, timeout=definition.stop_timeout_s)
            self._supervisor.forget(process.pid)
        if f"green.{service}" in self.state.extra:
            with self._update() as state:
                state.extra.pop(f"green.{service}", None)
                state.extra.pop(f"green.{service}.port", None)

    def restore_blue(self, proxy: str, service: str) -> list[str]:
        done: list[str] = []
        with self._operation():
            if not self._is_running(service):
                self._start_one(service)
                done.append(f"started {service} (blue)")
            if self.state.extra.get(f"upstream.{proxy}", "blue") != "blue":
                self._switch(proxy, service, "blue", drain=True)
                done.append(f"{proxy} back to blue")
            if self._green_process(service) is not None:
                self._stop_green(service)
                done.append(f"stopped {service} (green)")
        return done

    def status(self) -> dict[str, ServiceStatus]:
        state = self._refresh()
        result: dict[str, ServiceStatus] = {}
        for name, record in state.services.items():
            alive = supervisor.is_alive(record.process)
            if record.desired == "running":
                current = ServiceState.RUNNING if alive else ServiceState.FAILED
            else:
                current = ServiceState.RUNNING if alive else ServiceState.STOPPED
            detail = f"ready in {record.ready_s:.2f} s" if record.ready_s is not None else None
            if record.faults:
                detail = f"{detail or ''}; faults: {','.join(record.faults)}".lstrip("; ")
            result[name] = ServiceStatus(
                url=state.urls.get(name, record.url),  # "app": the public URL, as url() gives
                state=current,
                pid=record.process.pid if record.process and alive else None,
                detail=detail,
            )
        return result
