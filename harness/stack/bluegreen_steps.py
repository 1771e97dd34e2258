"""The provider-independent half of blue-green (:class:`~harness.stack.base.BlueGreen`).

What an instance *is* differs by provider (a second process, a second container); the order of
the steps, the state they keep and the rollback do not, so they live here once. State is in the
stack state's ``extra``: ``green.<service>.port`` while green runs (a provider may keep more
under ``green.<service>``), ``upstream.<proxy>`` the instance the proxy points at. Keeping it in
the state file lets another process attached to the stack roll a drill back.

A provider supplies three hooks: whether green runs, how to remove it, and how to make a proxy
load a rendered config (its upstream already pointing where the switch goes).
"""

from __future__ import annotations

from harness.stack.base import Instance, StackError
from harness.stack.definition import TemplateContext
from harness.stack.managed import ManagedStack


class BlueGreenSteps(ManagedStack):
    # -- provider hooks ----------------------------------------------------------------------------
    def _green_running(self, service: str) -> bool:
        raise NotImplementedError

    def _remove_green(self, service: str) -> None:
        """Stop green with the service's stop signal, forget it; nothing when none runs."""
        raise NotImplementedError

    def _reload_proxy(self, proxy: str, context: TemplateContext, *, drain: bool) -> float:
        """Render ``proxy``'s config from ``context`` and reload it gracefully; the seconds
        until new workers run (``drain``: until the old ones are gone too)."""
        raise NotImplementedError

    # -- the steps ---------------------------------------------------------------------------------
    def _green_context(self, service: str, port: int, release: str) -> TemplateContext:
        """Green's template context: its own port, the release it runs, told it is green."""
        context = self._context(service)
        context["port"] = port
        context["ports"] = {**self.state.ports, service: port}
        context["release"] = release
        context["instance"] = "green"
        return context

    def _record_green(self, service: str, port: int, record: str = "") -> None:
        """Green is up on ``port``; ``record`` is what the provider needs to find it again."""
        with self._update() as state:
            state.extra[f"green.{service}.port"] = str(port)
            if record:
                state.extra[f"green.{service}"] = record

    def _forget_green(self, service: str) -> None:
        keys = (f"green.{service}", f"green.{service}.port")
        if any(key in self.state.extra for key in keys):
            with self._update() as state:
                for key in keys:
                    state.extra.pop(key, None)

    def switch(self, proxy: str, service: str, to: Instance) -> float:
        return self._switch(proxy, service, to, drain=False)

    def _switch(self, proxy: str, service: str, to: Instance, *, drain: bool) -> float:
        """``drain``: return only once the old workers are gone (nothing in flight to the
        instance switched away from), for a caller that stops it at once."""
        with self._operation():
            if self._service(proxy).kind != "nginx":
                raise StackError(f"{proxy!r} is not an nginx service to switch")
            context = self._context(proxy)
            if to == "green":
                port = self.state.extra.get(f"green.{service}.port")
                if not port or not self._green_running(service):
                    raise StackError(f"no green instance of {service!r} is running")
                context["ports"] = {**self.state.ports, service: int(port)}
            seconds = self._reload_proxy(proxy, context, drain=drain)
            with self._update() as state:
                state.extra[f"upstream.{proxy}"] = to
            return seconds

    def stop_instance(self, service: str, which: Instance) -> None:
        with self._operation():
            if which == "blue":
                self._stop_one(self._checked(service))
            else:
                self._remove_green(service)

    def restore_blue(self, proxy: str, service: str) -> list[str]:
        done: list[str] = []
        with self._operation():
            if not self._is_running(service):
                self._start_one(service)
                done.append(f"started {service} (blue)")
            if self.state.extra.get(f"upstream.{proxy}", "blue") != "blue":
                self._switch(proxy, service, "blue", drain=True)
                done.append(f"{proxy} back to blue")
            if self._green_running(service):
                self._remove_green(service)
                done.append(f"stopped {service} (green)")
        return done
