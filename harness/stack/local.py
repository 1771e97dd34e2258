"""The local provider: every service a supervised process on a free loopback port.

Independent services start in parallel (threads), each as soon as what it depends on is
ready, so a warm ``up`` costs about as long as the slowest chain (PostgreSQL, then the app,
then nginx). Everything a later process needs to operate the stack is in the run dir's state
file; any process may :meth:`LocalStack.attach` to it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from harness.stack import faults as fault_registry
from harness.stack import nginx_reload, supervisor
from harness.stack.base import (
    ServiceState,
    ServiceStatus,
    StackError,
)
from harness.stack.definition import TemplateContext
from harness.stack.local_ops import LocalOps, log_tail
from harness.stack.managed import Progress, release_key
from harness.stack.paths import new_run_dir, service_user
from harness.stack.postgres import database_identity
from harness.stack.reaper import reap_orphans
from harness.stack.state import ProcessRecord, ServiceRecord, write_state

__all__ = ["LocalStack", "Progress"]


class LocalStack(LocalOps):
    """A :class:`~harness.stack.base.Stack` of local processes."""

    provider = "local"

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

    def down(self) -> None:
        """Stop every service (dependents first) and remove the run dir. Idempotent."""
        if not self.state.run_dir or not self.run_dir.exists():
            return
        with self._operation():
            for name in self.definition.services:  # a blue-green drill's second instance
                self._remove_green(name)
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

    # -- blue-green hooks (harness.stack.bluegreen_steps) -------------------------------------
    # Green is a second process of the service on a port of its own; its process record is kept
    # in the state (``green.<service>``) so another process attached to the stack can stop it.

    def _green_process(self, service: str) -> ProcessRecord | None:
        raw = self.state.extra.get(f"green.{service}")
        return ProcessRecord.model_validate_json(raw) if raw else None

    def _green_running(self, service: str) -> bool:
        return supervisor.is_alive(self._green_process(service))

    def _launch_green(
        self, service: str, port: int, context: TemplateContext, url: str, began: float
    ) -> None:
        definition = self._service(service)
        argv = [context.render(p, f"services.{service}.argv") for p in definition.argv]
        output = self._service_dir(service) / "green-output.log"
        process = self._supervisor.spawn(
            argv,
            env=self._env(service, context),
            log_path=output,
            cwd=self._service_dir(service),  # blue's folder: the same files (keyring...)
            user=service_user() if definition.unprivileged else None,
        )
        self._record_green(service, port, process.model_dump_json())
        self._poll_ready(
            service,
            definition.health,
            began,
            exited=lambda: None if supervisor.is_alive(process) else "green exited",
            tail=lambda: f"({output})\n{log_tail(output)}",
            cancel=self._cancel,
            url=url,
        )

    def _reload_proxy(self, proxy: str, context: TemplateContext, *, drain: bool) -> float:
        record = self.state.services[proxy].process
        if record is None or not supervisor.is_alive(record):
            raise StackError(f"{proxy!r} is not a running nginx service to switch")
        self._prepare_nginx(proxy, self._service(proxy), context)  # rewrites nginx.conf
        return nginx_reload.reload_master(record.pid, drain=drain)

    def _remove_green(self, service: str) -> None:
        process = self._green_process(service)
        if process is not None:
            definition = self._service(service)
            supervisor.stop(process, sig=definition.signal, timeout=definition.stop_timeout_s)
            self._supervisor.forget(process.pid)
        self._forget_green(service)

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
