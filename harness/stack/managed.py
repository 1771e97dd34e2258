"""What the local and containers providers share: a stack the harness starts and operates.

Both keep the run's state in a state file (:class:`~harness.stack.stateful.StateBacked`), take
ports and URLs from the stack definition, hold the same readers-writer lock, switch faults the
same way and heal the same way. A provider supplies how one service starts, stops and is seen
running (``_start_one``, ``_stop_one``, ``_is_running``) and how it swaps a release.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from harness.profile import Profile
from harness.stack import faults as fault_registry
from harness.stack import supervisor
from harness.stack.base import ServiceNotReady, StackError
from harness.stack.definition import (
    HealthCheck,
    ServiceDef,
    StackDefinition,
    TemplateContext,
    load_definition,
)
from harness.stack.health import ProbeFailed, health_scope, probe
from harness.stack.lock import StackLock
from harness.stack.state import Owner, StackState, read_state
from harness.stack.stateful import StateBacked

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """Default progress sink: library use stays silent; the CLI and plugin pass stderr."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (all bound at once, so none repeats)."""
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


def release_key(release: str) -> tuple[int, str]:
    """Order releases: numbers numerically, anything else after 0."""
    return (int(release), "") if release.isdigit() else (0, release)


def new_state(
    provider: str, profile: Profile, definition: StackDefinition, owner_pid: int | None
) -> StackState:
    """The state of a stack not started yet. ``owner_pid``: -1 this process, None detached."""
    state = StackState(
        provider=provider,
        profile=profile.name,
        definition=definition.path,
        run_dir="",
        python=sys.executable,
        release=profile.release,
        faults=list(profile.faults),
        profile_env=dict(profile.env),
        secret_key=secrets.token_urlsafe(32),
        listen=profile.listen,
    )
    if owner_pid is not None:
        record = supervisor.owner_record(os.getpid() if owner_pid == -1 else owner_pid)
        state.owner = Owner(pid=record.pid, start_time=record.start_time)
    return state


class ManagedStack(StateBacked):
    """Base of the providers that start the stack themselves (local, containers)."""

    provider: str
    definition: StackDefinition
    services: list[str]
    progress: Progress

    def __init__(
        self, state: StackState, definition: StackDefinition, *, progress: Progress | None = None
    ) -> None:
        self.state = state
        self.definition = definition
        self.name = state.profile
        self.services = list(definition.services)
        self.progress = progress or quiet
        self._init_state_backing()
        self._fault_registry: dict[str, fault_registry.FaultInfo] | None = None

    @classmethod
    def create(
        cls,
        profile: Profile,
        *,
        config_dir: Path | None = None,
        owner_pid: int | None = -1,
        progress: Progress | None = None,
    ) -> Self:
        """A stack for ``profile``, not started yet. ``owner_pid``: -1 means this process,
        None a detached stack that only ``harness down`` stops."""
        definition = load_definition(profile.stack, config_dir)
        cls._check_definition(definition)
        state = new_state(cls.provider, profile, definition, owner_pid)
        return cls(state, definition, progress=progress)

    @classmethod
    def attach(
        cls, state_path: str | os.PathLike[str], *, progress: Progress | None = None
    ) -> Self:
        """Operate the running stack another process started, by its state file."""
        state = read_state(Path(state_path).resolve())
        if state.provider != cls.provider:
            raise StackError(f"{state_path}: a {state.provider!r} stack, not a {cls.provider} one")
        return cls(state, load_definition(state.definition), progress=progress)

    @classmethod
    def _check_definition(cls, definition: StackDefinition) -> None:
        """Refuse a definition this provider cannot run (one clear line)."""

    # -- what a provider supplies ----------------------------------------------------------------
    def _start_one(self, name: str) -> None:
        raise NotImplementedError

    def _stop_one(self, name: str) -> None:
        raise NotImplementedError

    def _is_running(self, name: str) -> bool:
        raise NotImplementedError

    def _refault(self, name: str) -> None:
        """Make ``name`` run with the current faults (default: stop it and start it again)."""
        self._stop_one(name)
        self._start_one(name)

    def swap(self, service: str, release: str) -> None:
        raise NotImplementedError

    # -- small accessors -------------------------------------------------------------------------
    @property
    def ca_bundle(self) -> str | None:
        """The run's CA certificate (PEM): what clients verify the stack's TLS with."""
        return self.state.ca_bundle

    def lock(self) -> StackLock:
        """The readers-writer lock tests hold while they use (or disrupt) this stack."""
        return StackLock(self.run_dir)

    def _service(self, name: str) -> ServiceDef:
        try:
            return self.definition.services[name]
        except KeyError:
            known = ", ".join(self.services)
            raise StackError(
                f"stack {self.name!r} has no service {name!r} (known: {known})"
            ) from None

    def _checked(self, service: str) -> str:
        # "app_direct" and friends are URLs, not services: operate on the service behind them.
        self._service(service)
        return service

    def _context(self, name: str) -> TemplateContext:
        """The names a definition's templates may use for service ``name``."""
        state = self.state
        try:
            from harness.stack.postgres import pg_bin_dir

            pg_bin = str(pg_bin_dir())
        except StackError:
            pg_bin = ""  # only stacks with PostgreSQL use {pg_bin}
        return TemplateContext(
            python=state.python,
            run_dir=state.run_dir,
            dir=str(Path(state.run_dir) / name) if state.run_dir else "",
            port=state.ports.get(name, 0),
            ports=state.ports,
            urls=state.urls,
            release=state.release,
            faults=",".join(state.faults),
            secret_key=state.secret_key,
            listen=state.listen,
            pg_bin=pg_bin,
            env_path=os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            extra=state.extra,
            # Which instance of the service this is: "green" only for the second instance a
            # blue-green drill starts beside it (harness.stack.bluegreen).
            instance="blue",
        )

    def _allocate_addresses(self) -> dict[str, str]:
        """Free ports for every port slot, then the URLs; returns each service's own URL."""
        state = self.state
        slots = self.definition.port_slots()
        for (owner, port_name), port in zip(slots, free_ports(len(slots)), strict=True):
            state.ports.setdefault(owner, port)  # a service's first port is ``ports[svc]``
            state.ports[f"{owner}.{port_name}"] = port
        urls: dict[str, str] = {}
        for name, service in self.definition.services.items():
            if service.url:
                urls[name] = self._context(name).render(service.url, f"services.{name}.url")
        state.urls = urls
        extra = TemplateContext(self._context(""), urls=dict(urls))
        state.urls = {**urls, **extra.render_all(self.definition.urls, "urls")}
        return urls

    # -- readiness -------------------------------------------------------------------------------
    def _health_url(self, name: str, check: HealthCheck) -> str:
        """Where ``check`` probes ``name``: its own URL unless the check names one."""
        if check.url:
            return self._context(name).render(check.url, f"services.{name}.health.url")
        record = self.state.services[name]
        return record.url or f"tcp://127.0.0.1:{self.state.ports.get(name, 0)}"

    def _poll_ready(
        self,
        name: str,
        check: HealthCheck,
        began: float,
        *,
        exited: Callable[[], str | None],
        tail: Callable[[], str],
        cancel: threading.Event | None = None,
        url: str | None = None,
    ) -> None:
        """Probe until ``check`` passes; ServiceNotReady with the log's tail when the service
        exits (``exited()`` says how) or the time is up. ``url``: where to probe instead of the
        service's own address (a blue-green drill's second instance)."""
        url = url or self._health_url(name, check)
        deadline = began + check.timeout_s
        last = "no attempt yet"
        while True:
            how = exited()
            if how is not None:
                raise ServiceNotReady(
                    f"service {name!r} exited during start-up ({how}); last lines of its log:\n"
                    f"{tail()}"
                )
            try:
                probe(
                    check,
                    url,
                    guard=health_scope(self.state.listen),
                    ca_bundle=self.state.ca_bundle,
                    timeout=min(2.0, check.timeout_s),
                )
                return
            except ProbeFailed as exc:
                last = str(exc)
            if cancel is not None and cancel.is_set():
                raise StackError(f"start-up of {name!r} abandoned")
            if time.monotonic() >= deadline:
                raise ServiceNotReady(
                    f"service {name!r} did not become ready within {check.timeout_s:.0f} s "
                    f"({check.type} check on {url}: {last}); last lines of its log:\n{tail()}"
                )
            time.sleep(check.interval_s)

    # -- addresses and logs ----------------------------------------------------------------------
    def url(self, service: str) -> str:
        try:
            return self.state.urls[service].rstrip("/")
        except KeyError:
            known = ", ".join(sorted(self.state.urls))
            raise KeyError(
                f"stack {self.name!r} has no URL for {service!r} (known: {known})"
            ) from None

    def logs(self, service: str, since: int = 0) -> list[str]:
        raise NotImplementedError

    def mark(self, service: str) -> int:
        return len(self.logs(service))

    # -- lifecycle -------------------------------------------------------------------------------
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

    # -- faults ----------------------------------------------------------------------------------
    def _registry(self) -> dict[str, fault_registry.FaultInfo]:
        with self._mutex:  # start-up threads share one load
            if self._fault_registry is None:
                context = self._context("")
                argv = [context.render(p, "faults_argv") for p in self.definition.faults_argv]
                self._fault_registry = fault_registry.load_registry(
                    argv, cache=self.run_dir / "faults.json"
                )
            return self._fault_registry

    def fault_registry(self) -> list[fault_registry.FaultInfo]:
        return list(self._registry().values())

    def _faults_of(self, name: str) -> list[str]:
        """The faults service ``name`` applies (none when the registry cannot be read)."""
        if not self.state.faults:
            return []
        try:
            registry = self._registry()
        except StackError:
            return []
        known = [f for f in self.state.faults if f in registry]
        return fault_registry.per_service(known, registry, self.definition)[name]

    def _legacy_tls(self, name: str) -> bool:
        """Whether nginx service ``name`` allows old TLS versions: its definition names the
        fault that asks for it (``options.legacy_tls_fault``) and that fault is on."""
        fault = self._service(name).options.get("legacy_tls_fault")
        return bool(fault) and fault in self._faults_of(name)

    def apply_faults(self, faults: list[str]) -> None:
        """Switch to exactly ``faults``; restart only the services whose fault set changes."""
        with self._operation():
            registry = self._registry()
            wanted = fault_registry.validate(faults, registry)
            old = list(self.state.faults)
            affected = fault_registry.services_to_restart(old, wanted, registry, self.definition)
            with self._update() as state:
                state.faults = wanted
            for level in self.definition.levels():
                for name in level:
                    if name in affected:
                        self.progress(f"harness: faults changed for {name}: restarting")
                        self._refault(name)

    # -- healing ---------------------------------------------------------------------------------
    def baseline(self) -> tuple[str, list[str]]:
        """The release and faults the stack runs with now (read from its state file)."""
        state = self._refresh()
        return str(state.release), list(state.faults)

    def heal(self, release: str, faults: list[str]) -> list[str]:
        """Bring the stack back to ``release``/``faults`` with every service running.

        The pytest plugin calls this after each disruptive test, so a test that forgot (or
        failed before) restoring what it changed does not break the tests after it. Returns
        what it did, one line per action.
        """
        actions: list[str] = []
        with self._operation():
            for level in self.definition.levels():
                for name in level:
                    if not self._is_running(name):
                        actions.append(f"started {name}")
                        self._start_one(name)
            if self.state.release != release:
                for name in self.definition.services:
                    if self.definition.uses_release(name):
                        actions.append(f"swapped {name} back to release {release}")
                        self.swap(name, release)
            if sorted(self.state.faults) != sorted(faults):
                actions.append(f"faults back to {faults or 'none'}")
                self.apply_faults(faults)
        return actions
