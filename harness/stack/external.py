"""The external provider: a deployment someone else runs; the harness only reads from it.

URLs come from the profile; every lifecycle operation raises LifecycleUnsupported with the
reason, which the pytest plugin reports as ``not_applicable``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from harness.profile import Profile
from harness.scope import OutOfScope, ScopeGuard, scoped_client
from harness.stack.base import LifecycleUnsupported, ServiceState, ServiceStatus, StackError


class ExternalStack:
    provider = "external"
    ca_bundle: str | None = None

    def __init__(self, profile: Profile) -> None:
        if not profile.target.base_url:
            raise StackError(f"profile {profile.name!r}: target.base_url is required")
        self.profile = profile
        self.name = profile.name
        self.guard = ScopeGuard(profile.scope.allow)
        base = profile.target.base_url.rstrip("/")
        self._urls: dict[str, str] = {profile.target.app_service: base, "app": base}
        if profile.datastores.database_url:
            self._urls[profile.datastores.database_service or "postgres"] = (
                profile.datastores.database_url
            )
        if profile.datastores.redis_url:
            self._urls[profile.datastores.redis_service or "redis"] = profile.datastores.redis_url
        self.services = sorted(set(self._urls))
        verify = profile.target.verify_tls
        self.ca_bundle = verify if isinstance(verify, str) else None

    def _unsupported(self, operation: str, service: str) -> LifecycleUnsupported:
        return LifecycleUnsupported(
            f"profile {self.name!r} targets an external deployment: the harness cannot "
            f"{operation} {service!r} there"
        )

    def up(self) -> None:
        """Nothing to start; the deployment is already running."""

    def down(self) -> None:
        """Nothing to stop; the harness never tears down what it did not start."""

    def url(self, service: str) -> str:
        try:
            return self._urls[service].rstrip("/")
        except KeyError:
            raise self._unsupported("reach", service) from None

    def mark(self, service: str) -> int:
        return len(self.logs(service))

    def logs(self, service: str, since: int = 0) -> list[str]:
        source = self.profile.logs
        if source.source == "file" and source.path:
            try:
                text = Path(source.path).read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                return []
            return text.splitlines()[since:]
        if source.source == "command" and source.command:
            done = subprocess.run(
                source.command, capture_output=True, text=True, timeout=60, check=False
            )
            return done.stdout.splitlines()[since:]
        raise self._unsupported("read the logs of", service)

    def stop(self, service: str) -> None:
        raise self._unsupported("stop", service)

    def start(self, service: str) -> None:
        raise self._unsupported("start", service)

    def restart(self, service: str) -> None:
        raise self._unsupported("restart", service)

    def exec(self, service: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
        raise self._unsupported("run commands in", service)

    def swap(self, service: str, release: str) -> None:
        raise self._unsupported(f"swap the release ({release}) of", service)

    def apply_faults(self, faults: list[str]) -> None:
        raise self._unsupported("switch faults on", "app")

    def status(self) -> dict[str, ServiceStatus]:
        """Only the app can be probed (its readiness path, through the scope guard)."""
        base = self._urls["app"]
        state, detail = ServiceState.UNKNOWN, None
        verify = self.profile.target.verify_tls
        try:
            with scoped_client(self.guard, verify=verify, timeout=httpx.Timeout(5.0)) as client:
                response = client.get(base + self.profile.target.ready_path)
            state = ServiceState.RUNNING if response.status_code == 200 else ServiceState.FAILED
            detail = f"{self.profile.target.ready_path}: HTTP {response.status_code}"
        except (httpx.HTTPError, OutOfScope) as exc:
            state, detail = ServiceState.FAILED, f"{type(exc).__name__}: {exc}"
        result = {"app": ServiceStatus(url=base, state=state, detail=detail)}
        for name, url in self._urls.items():
            result.setdefault(name, ServiceStatus(url=url, state=ServiceState.UNKNOWN))
        return result
