"""Stack definitions: which services a target has and how each starts, as data.

A definition is a TOML file (``harness/stacks/bundled.toml`` ships the reference stack; a
target may declare its own in ``stacks/<name>.toml`` beside its ``harness.toml``). Strings in
``argv``, ``env``, ``url`` and ``options`` are templates rendered with :meth:`str.format_map`
over the names in :class:`TemplateContext`, e.g. ``{ports[app]}`` or ``{urls[redis]}``.
"""

from __future__ import annotations

import signal
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.stack.base import StackError

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "stacks"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HealthCheck(_Strict):
    """A real readiness probe; the service counts as up only once it passes."""

    type: Literal["http", "https", "postgres", "redis", "tcp", "none"]
    url: str | None = Field(default=None, description="template; default: the service's url")
    path: str = "/"
    status: list[int] = Field(default_factory=lambda: [200])
    timeout_s: float = 30.0
    interval_s: float = 0.05


class ContainerDef(_Strict):
    """How the containers provider runs a service (``[services.<name>.container]``).

    Templates see the same names as the local ones, plus ``extra`` (the run's provider values,
    e.g. ``{extra[proxy_ip]}``). Services reach each other by their names as network aliases.
    """

    image: str = Field(description="image name in harness.stack.images.IMAGES (app, nginx...)")
    port: int | None = Field(
        default=None, description="port it listens on inside; published on 127.0.0.1"
    )
    command: list[str] = Field(default_factory=list, description="empty: the image's CMD")
    env: dict[str, str] = Field(default_factory=dict)
    exec_env: dict[str, str] = Field(
        default_factory=dict, description="extra environment of `exec` in the container"
    )
    volume: str | None = Field(default=None, description="path of its data volume inside")
    mem_limit: str = "256m"
    cpus: float = 0.5
    ready_timeout_s: float = Field(
        default=60.0, description="at least this long to become ready (containers start slower)"
    )
    downgrade_argv: list[str] = Field(
        default_factory=list, description="run in a one-off container before swapping down"
    )
    options: dict[str, str] = Field(
        default_factory=dict, description="kind-specific settings that differ in a container"
    )


class ServiceDef(_Strict):
    kind: Literal["process", "postgres", "nginx"] = Field(
        default="process",
        description="process: argv as given; postgres/nginx: a driver prepares files first",
    )
    description: str = ""
    argv: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    inherit_env: list[str] = Field(
        # PYTHONPATH too: a harness run from another checkout of the same code (a worktree, a
        # source tree) must start services that import that checkout, not the installed one.
        default_factory=lambda: ["PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"],
        description="variables passed through from the harness's own environment",
    )
    profile_env: bool = Field(default=False, description="also gets the profile's env table")
    ports: list[str] = Field(default_factory=lambda: ["main"])
    url: str | None = None
    log: str | None = Field(
        default=None, description="file logs() reads (template); default: captured output"
    )
    health: HealthCheck = Field(default_factory=lambda: HealthCheck(type="none"))
    depends_on: list[str] = Field(default_factory=list)
    required: bool = Field(default=True, description="the stack fails to start without it")
    unprivileged: bool = Field(default=False, description="run as the service user when root")
    stop_signal: str = "SIGTERM"
    stop_timeout_s: float = 10.0
    fault_services: list[str] | None = Field(
        default=None,
        description="fault registry 'services' values this service applies (default: its name)",
    )
    downgrade_argv: list[str] = Field(
        default_factory=list, description="run (with the service env) before swapping down"
    )
    options: dict[str, str] = Field(default_factory=dict, description="kind-specific settings")
    container: ContainerDef | None = Field(
        default=None, description="how the containers provider runs it"
    )

    @property
    def signal(self) -> int:
        return int(getattr(signal, self.stop_signal))


class StackDefinition(_Strict):
    name: str
    description: str = ""
    urls: dict[str, str] = Field(
        default_factory=dict, description="extra or overriding named URLs (templates)"
    )
    services: dict[str, ServiceDef]
    faults_argv: list[str] = Field(
        default_factory=list,
        description="prints the target's fault registry as JSON (templates: {python}); "
        "empty: the target seeds no faults",
    )
    doctor_modules: list[str] = Field(
        default_factory=list, description="Python modules its services import (harness doctor)"
    )
    doctor_install: str = Field(
        default="", description="how to install doctor_modules (pip arguments)"
    )
    image_packages: list[str] = Field(
        default_factory=list,
        description="packages of the checkout's fixtures the app image installs (containers)",
    )
    path: str = ""

    @model_validator(mode="after")
    def _check_graph(self) -> StackDefinition:
        for name, service in self.services.items():
            for dependency in service.depends_on:
                if dependency not in self.services:
                    raise ValueError(f"services.{name}.depends_on: unknown service {dependency!r}")
            if not hasattr(signal, service.stop_signal):
                raise ValueError(f"services.{name}.stop_signal: unknown signal")
        self.levels()  # raises on a cycle
        return self

    def uses_release(self, name: str) -> bool:
        """Whether ``name`` runs at the stack's release (its env or argv says ``{release}``)."""
        service = self.services[name]
        templates = [*service.env.values(), *service.argv]
        if service.container is not None:
            templates += [*service.container.env.values(), *service.container.command]
        return any("{release}" in template for template in templates)

    def levels(self) -> list[list[str]]:
        """Services grouped so each group depends only on earlier groups (start order)."""
        remaining = dict(self.services)
        done: set[str] = set()
        levels: list[list[str]] = []
        while remaining:
            ready = sorted(n for n, s in remaining.items() if set(s.depends_on) <= done)
            if not ready:
                raise ValueError(f"services: dependency cycle among {sorted(remaining)}")
            levels.append(ready)
            done.update(ready)
            for name in ready:
                del remaining[name]
        return levels

    def port_slots(self) -> list[tuple[str, str]]:
        """Every (service, port name) pair that needs its own free port."""
        return [(name, port) for name, service in self.services.items() for port in service.ports]

    def fault_owner(self, fault_service: str) -> str | None:
        """The service that applies faults registered for ``fault_service`` (app, nginx...)."""
        for name, service in self.services.items():
            if fault_service in (service.fault_services or [name]):
                return name
        return None


def find_definition(name: str, config_dir: Path | None = None) -> Path:
    """A path, else ``stacks/<name>.toml`` beside harness.toml, else the built-in one."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate.resolve()
    folders = ([config_dir / "stacks"] if config_dir else []) + [BUILTIN_DIR]
    for folder in folders:
        path = folder / f"{name}.toml"
        if path.is_file():
            return path.resolve()
    where = ", ".join(str(f) for f in folders)
    raise StackError(f"no stack definition named {name!r} (looked in {where})")


def load_definition(name: str, config_dir: Path | None = None) -> StackDefinition:
    path = find_definition(name, config_dir)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        document.setdefault("name", path.stem)
        document["path"] = str(path)
        return StackDefinition.model_validate(document)
    except tomllib.TOMLDecodeError as exc:
        raise StackError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise StackError(f"{path}: {key}: {first['msg']}") from None


class TemplateContext(dict[str, Any]):
    """The names a definition's templates may use; a missing one is a clear StackError."""

    def render(self, template: str, where: str) -> str:
        try:
            return template.format_map(self)
        except (KeyError, IndexError, AttributeError, ValueError) as exc:
            raise StackError(f"{where}: cannot render {template!r}: unknown name {exc}") from None

    def render_all(self, templates: Mapping[str, str], where: str) -> dict[str, str]:
        return {key: self.render(value, f"{where}.{key}") for key, value in templates.items()}
