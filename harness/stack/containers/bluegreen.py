"""Blue-green for the containers provider (:class:`~harness.stack.base.BlueGreen`).

Green is a second container of the service (``<container>-green``) from the same image, on the
same data volume (the files both instances share, such as a keyring), told it is green through
the definition's ``{instance}`` name, and published on a host port of its own. The switch copies
a new nginx.conf into the proxy's volume and sends its master SIGHUP; the master is the
container's first process (the entrypoint ``exec``s nginx), whose host pid the engine reports,
so :mod:`harness.stack.nginx_reload` watches its workers from the host.

Only with nginx on the host's network (the default with a local engine): there its upstream is
a published host port, which a new container can take. On the run's network nginx names the
app by its network alias, which only one container holds; that case is LifecycleUnsupported
(the control is not_applicable, with the reason).
"""

from __future__ import annotations

import contextlib
from typing import Any

from harness.stack import nginx_reload
from harness.stack.base import LifecycleUnsupported, StackError
from harness.stack.bluegreen_steps import BlueGreenSteps
from harness.stack.containers import files
from harness.stack.containers.ops import STOP_TIMEOUT_S, ContainerOps
from harness.stack.definition import TemplateContext


class BlueGreenOps(ContainerOps, BlueGreenSteps):
    """The containers provider's blue-green hooks; the steps are in BlueGreenSteps."""

    def _green_name(self, service: str) -> str:
        return self._container_name(service) + "-green"

    def _green_container(self, service: str) -> Any | None:
        import docker.errors

        try:
            return self.client.containers.get(self._green_name(service))
        except docker.errors.NotFound:
            return None

    def _green_running(self, service: str) -> bool:
        return self._green_container(service) is not None

    def _check_blue_green(self) -> None:
        if not self._nginx_on_host:
            raise LifecycleUnsupported(
                "blue-green needs nginx on the host's network (HARNESS_NGINX_NETWORK=host): on "
                "the run's network its upstream is the app's alias, which one container holds"
            )

    def _launch_green(
        self, service: str, port: int, context: TemplateContext, url: str, began: float
    ) -> None:
        container = self._create(service, green=context, host_port=port)
        self._record_green(service, port)
        check = self._service(service).health.model_copy()
        check.timeout_s = max(check.timeout_s, self._spec(service).ready_timeout_s)
        check.interval_s = max(check.interval_s, 0.1)

        def exited() -> str | None:
            container.reload()
            if container.status not in ("exited", "dead"):
                return None
            code = container.attrs.get("State", {}).get("ExitCode")
            return f"container {container.name}, exit code {code}"

        def tail() -> str:
            with contextlib.suppress(Exception):
                raw = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
                return "\n".join(raw.splitlines()[-30:]) or "(log is empty)"
            return "(no log)"

        self._poll_ready(service, check, began, exited=exited, tail=tail, url=url)

    def _reload_proxy(self, proxy: str, context: TemplateContext, *, drain: bool) -> float:
        container = self._container(proxy)
        if container is None:
            raise StackError(f"{proxy!r} has no container")
        container.reload()
        pid = int(container.attrs.get("State", {}).get("Pid") or 0)
        if container.status != "running" or not pid:
            raise StackError(f"{proxy!r} is not running")
        if not container.put_archive(files.NGINX_DIR, self._nginx_bytes(proxy, context)):
            raise StackError(f"could not copy the new config into {proxy!r}")
        return nginx_reload.reload(
            lambda: container.kill(signal="SIGHUP"),
            lambda: nginx_reload.children(pid),
            drain=drain,
        )

    def _remove_green(self, service: str) -> None:
        container = self._green_container(service)
        if container is not None:
            with contextlib.suppress(Exception):
                container.stop(timeout=STOP_TIMEOUT_S)  # the service's stop signal first
            with contextlib.suppress(Exception):
                raw = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
                if raw:
                    with self._archive(service).open("a", encoding="utf-8") as handle:
                        handle.write("[green]\n" + (raw if raw.endswith("\n") else raw + "\n"))
            with contextlib.suppress(Exception):
                container.remove(force=True)
        self._forget_green(service)
