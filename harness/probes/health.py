"""Liveness and readiness: read what a health route says, and whether status and body agree.

Readiness bodies differ between frameworks: ``{"checks": {"database": {"status": "ok"}}}``,
Spring's ``{"components": {"db": {"status": "UP"}}}``, or a list of ``{"name", "status"}``.
The parser accepts these layouts and normalises each dependency to name, status, health and
version. A readiness answer is judged on status code *and* body: a 200 that reports a required
dependency unhealthy is the "always 200" pitfall and fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, Field

HEALTHY = {"ok", "up", "healthy", "pass", "passing", "green", "true", "available", "ready"}
UNHEALTHY = {
    "fail",
    "failed",
    "failing",
    "down",
    "error",
    "unhealthy",
    "critical",
    "red",
    "false",
    "unavailable",
    "unreachable",
    "not_ready",
    "out_of_service",
}
_CONTAINERS = ("checks", "dependencies", "components", "details", "services")
_VERSION_KEYS = ("version", "server_version", "serverVersion")

# Names a dependency commonly goes by in a readiness body, per stack service name.
SERVICE_ALIASES: dict[str, tuple[str, ...]] = {
    "postgres": ("postgres", "postgresql", "database", "db", "pg", "sql"),
    "redis": ("redis", "cache", "sessions", "session_store"),
}


class Dependency(BaseModel):
    name: str
    status: str | None = None
    healthy: bool | None = Field(default=None, description="None when the status is unknown")
    version: str | None = None
    required: bool | None = None


class Readiness(BaseModel):
    url: str
    status_code: int
    overall: str | None = None
    dependencies: list[Dependency] = Field(default_factory=list)
    body_error: str | None = None

    def unhealthy(self, required_only: bool = True) -> list[Dependency]:
        return [
            dep
            for dep in self.dependencies
            if dep.healthy is False and (not required_only or dep.required is not False)
        ]

    def dependency(self, names: Sequence[str]) -> Dependency | None:
        wanted = {name.lower() for name in names}
        for dep in self.dependencies:
            if dep.name.lower() in wanted:
                return dep
        return None

    def problems(self) -> list[str]:
        """Why this answer is not an honest "ready" (empty when it is)."""
        found: list[str] = []
        if self.body_error:
            found.append(self.body_error)
        if not self.dependencies:
            found.append("the body reports no dependencies")
        for dep in self.dependencies:
            if dep.status is None:
                found.append(f"dependency {dep.name!r} reports no status")
            elif dep.healthy is None:
                found.append(f"dependency {dep.name!r} has an unrecognised status {dep.status!r}")
            # A dependency that is down cannot tell its version; a healthy one must.
            if dep.healthy and not dep.version:
                found.append(f"dependency {dep.name!r} reports no version")
        if self.status_code == 200:
            for dep in self.unhealthy():
                found.append(
                    f"HTTP 200 although required dependency {dep.name!r} is {dep.status!r}"
                )
            if self.overall and healthy_word(self.overall) is False:
                found.append(f"HTTP 200 although the overall status is {self.overall!r}")
        return found


def healthy_word(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    word = value.strip().lower().replace("-", "_").replace(" ", "_")
    if word in HEALTHY:
        return True
    if word in UNHEALTHY:
        return False
    return None


def _dependency(name: str, entry: Any) -> Dependency:
    if not isinstance(entry, Mapping):
        return Dependency(name=name, status=str(entry), healthy=healthy_word(entry))
    status = entry.get("status", entry.get("state", entry.get("healthy")))
    version = next((entry[key] for key in _VERSION_KEYS if entry.get(key)), None)
    if version is None and isinstance(entry.get("details"), Mapping):
        details = entry["details"]
        version = next((details[key] for key in _VERSION_KEYS if details.get(key)), None)
    required = entry.get("required", entry.get("critical"))
    return Dependency(
        name=name,
        status=None if status is None else str(status),
        healthy=healthy_word(status),
        version=None if version is None else str(version),
        required=required if isinstance(required, bool) else None,
    )


def parse_readiness(url: str, status_code: int, body: Any) -> Readiness:
    result = Readiness(url=url, status_code=status_code)
    if not isinstance(body, Mapping):
        result.body_error = "the body is not a JSON object"
        return result
    overall = body.get("status")
    result.overall = None if overall is None else str(overall)
    for key in _CONTAINERS:
        container = body.get(key)
        if isinstance(container, Mapping) and container:
            result.dependencies = [_dependency(str(k), v) for k, v in container.items()]
            break
        if isinstance(container, list) and container:
            result.dependencies = [
                _dependency(str(item.get("name", item.get("component", i))), item)
                if isinstance(item, Mapping)
                else _dependency(str(i), item)
                for i, item in enumerate(container)
            ]
            break
    return result


def read(client: httpx.Client, path: str) -> tuple[httpx.Response, Readiness]:
    response = client.get(path, headers={"Accept": "application/json"})
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    readiness = parse_readiness(str(response.url), response.status_code, body)
    if body is None:
        readiness.body_error = (
            f"the body is not JSON (content-type {response.headers.get('content-type')!r})"
        )
    return response, readiness


def names_for(service: str, overrides: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The names a stack service may carry in a readiness body."""
    if overrides and service in overrides:
        return list(overrides[service])
    return [service, *SERVICE_ALIASES.get(service, ())]


def poll(
    fetch: Callable[[], tuple[httpx.Response, Readiness]],
    until: Callable[[Readiness], bool],
    timeout_s: float,
    interval_s: float = 0.25,
) -> tuple[bool, float, list[tuple[float, int, str | None]], httpx.Response | None]:
    """Poll until ``until`` holds or time runs out.

    Returns (reached, seconds taken, timeline of (t, status, overall), last response).
    Transport errors count as "not yet" and appear in the timeline with status 0.
    """
    start = time.monotonic()
    timeline: list[tuple[float, int, str | None]] = []
    last: httpx.Response | None = None
    while True:
        elapsed = time.monotonic() - start
        try:
            last, readiness = fetch()
            timeline.append((round(elapsed, 2), readiness.status_code, readiness.overall))
            if until(readiness):
                return True, elapsed, timeline, last
        except httpx.HTTPError as exc:
            timeline.append((round(elapsed, 2), 0, type(exc).__name__))
        if elapsed >= timeout_s:
            return False, elapsed, timeline, last
        time.sleep(interval_s)
