"""The local provider's process primitives: start, stop, wait for and read one service.

:class:`~harness.stack.local.LocalStack` builds the whole stack's lifecycle on these, as the
containers provider builds on its container operations.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from harness.stack import nginx_reload, supervisor
from harness.stack.base import StackError
from harness.stack.bluegreen_steps import BlueGreenSteps
from harness.stack.definition import ServiceDef, StackDefinition, TemplateContext
from harness.stack.managed import Progress
from harness.stack.paths import service_user
from harness.stack.postgres import database_identity
from harness.stack.state import StackState

LOG_TAIL_LINES = 30


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


class LocalOps(BlueGreenSteps):
    """One supervised process per service, on the addresses the state allocated."""

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
            return f"({record.output})\n{log_tail(Path(record.output))}"

        self._poll_ready(name, service.health, began, exited=exited, tail=tail, cancel=self._cancel)

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
