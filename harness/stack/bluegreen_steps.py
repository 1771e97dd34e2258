"""The provider-independent half of blue-green (:class:`~harness.stack.base.BlueGreen`).

What an instance *is* differs by provider (a second process, a second container); the order of
the steps, the state they keep and the rollback do not, so they live here once. State is in the
stack state's ``extra``: ``green.<service>.port`` while green runs (a provider may keep more
under ``green.<service>``), ``upstream.<proxy>`` the instance the proxy points at. Keeping it in
the state file lets another process attached to the stack roll a drill back.

A provider supplies four hooks: how to launch green (and wait for its readiness check), whether
it runs, how to remove it, and how to make a proxy load a rendered config (its upstream already
pointing where the switch goes). ``_check_blue_green`` may refuse the whole capability for a
set-up that cannot run two instances (LifecycleUnsupported: the control is not_applicable).
"""

from __future__ import annotations

import time

from harness.stack.base import Instance, StackError
from harness.stack.definition import TemplateContext
from harness.stack.managed import ManagedStack, free_ports


class BlueGreenSteps(ManagedStack):
    # -- provider hooks ----------------------------------------------------------------------------
    def _check_blue_green(self) -> None:
        """Raise LifecycleUnsupported where this set-up cannot run a second instance."""

    def _launch_green(
        self, service: str, port: int, context: TemplateContext, url: str, began: float
    ) -> None:
        """Start green from ``context``, record it (``_record_green``) and wait for its
        readiness check at ``url`` (timed from ``began``)."""
        raise NotImplementedError

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

    def start_green(self, service: str, release: str) -> str:
        with self._operation():
            self._check_blue_green()
            definition = self._service(service)
            if not self.definition.uses_release(service) or not definition.url:
                raise StackError(f"service {service!r} has no release or URL to run twice")
            self._remove_green(service)  # a leftover of an interrupted drill
            port = free_ports(1)[0]
            context = self._green_context(service, port, release)
            url = context.render(definition.url, f"services.{service}.url")
            began = time.monotonic()
            self._launch_green(service, port, context, url, began)
            self.progress(f"harness: ready: {service} (green) {time.monotonic() - began:5.2f} s")
            return url

    def switch(self, proxy: str, service: str, to: Instance) -> float:
        return self._switch(proxy, service, to, drain=False)

    def _switch(self, proxy: str, service: str, to: Instance, *, drain: bool) -> float:
        """``drain``: return only once the old workers are gone (nothing in flight to the
        instance switched away from), for a caller that stops it at once."""
        with self._operation():
            self._check_blue_green()
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
