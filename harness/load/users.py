"""The Locust users of the ``load/`` files: browse, API mix and login journeys from the plan.

A journey the plan cannot serve (no login, no private operation) falls back to browsing, so the
number of users, and so the load, is what was asked for. Requests never follow redirects: a
redirect answer is the page's answer, and a Location off the allow-list is never fetched.
Imported only inside the Locust process.
"""

from __future__ import annotations

import random
from typing import Any

import gevent.ssl
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import StopUser
from locust.runners import WorkerRunner

from harness.load import sources
from harness.load.hooks import READY, plan_late
from harness.load.pacing import PACER
from harness.load.plan import Plan, credentials, target_for
from harness.load.state import STATE

PLAN_WAIT_S = 120


class JourneyUser(FastHttpUser):
    abstract = True
    headers: dict[str, str]

    @property
    def plan(self) -> Plan:
        assert STATE.plan is not None, "the load plan is built at Locust's init event"
        return STATE.plan

    def wait_time(self) -> float:
        plan = self.plan
        if plan.rate_cap:
            return PACER.delay(self._paced_interval(plan.rate_cap))
        low, high = plan.wait_s
        return random.uniform(low, high)

    def _paced_interval(self, cap: float) -> float:
        # Each task sends one request, and each process keeps its own schedule: processes / cap
        # seconds apart keeps the sum of every process under the cap.
        processes = 1
        if isinstance(self.environment.runner, WorkerRunner):
            options = self.environment.parsed_options
            processes = max(1, int(getattr(options, "expect_workers", 1) or 1))
        return processes / cap

    def on_start(self) -> None:
        READY.wait(timeout=PLAN_WAIT_S)
        if STATE.plan is None and self.host:
            plan_late(self.environment)  # a worker started without --host learns it now
        if STATE.plan is None:
            raise StopUser()  # the init event said why, and the run's exit code is 2
        self.client = self._session(self.plan.verify)
        runner = self.environment.runner
        worker = int(getattr(runner, "worker_index", 0) or 0)
        self.address = sources.next_address(self.host or self.plan.host, worker)
        sources.bind_current(self.address)
        self.headers = {}
        self.logged_in: bool | None = None
        if self.plan.rate_cap:
            # The first task runs without wait_time: book its slot too.
            gevent.sleep(PACER.delay(self._paced_interval(self.plan.rate_cap)))

    def _session(self, verify: bool | str) -> FastHttpSession:
        """A client that verifies TLS as the profile says (Locust's default verifies nothing)."""
        factory: Any = None
        if isinstance(verify, str):

            def factory() -> Any:
                return gevent.ssl.create_default_context(cafile=verify)

        return FastHttpSession(
            base_url=self.host or self.plan.host,
            request_event=self.environment.events.request,
            user=self,
            insecure=verify is False,
            ssl_context_factory=factory,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            max_retries=self.max_retries,
        )

    def read(self, paths: list[str], headers: dict[str, str] | None = None) -> None:
        if not paths:
            return
        path = random.choice(paths)
        with self.client.get(
            path, headers=headers, allow_redirects=False, catch_response=True, name=path
        ) as response:
            if response.status_code == 0 or response.status_code >= 400:
                response.failure(f"HTTP {response.status_code}")
            else:
                response.success()

    def browse(self) -> None:
        """Anonymous reads; on a target with none, the API reads of a logged-in user."""
        plan = self.plan
        if plan.read_paths:
            self.read(plan.read_paths)
        elif plan.api_paths and self.ensure_login():
            self.read(plan.api_paths, self.headers)

    def ensure_login(self) -> bool:
        """Log this user in once (the profile's flow, outside Locust's figures)."""
        if self.logged_in is None:
            self.logged_in = self.plan.can_login and self._login()
        return self.logged_in

    def _login(self) -> bool:
        target = target_for(self.plan.host, STATE.profile)
        try:
            self.headers, _ = credentials(target, self.address)
        except Exception as exc:  # noqa: BLE001 - any failure is the run's error, recorded
            self.environment.events.request.fire(
                request_type="LOGIN",
                name="(credential)",
                response_time=0,
                response_length=0,
                exception=exc,
                context={},
            )
            return False
        return True


class BrowseUser(JourneyUser):
    """Read-heavy browsing: pages, static files and public reads, anonymous."""

    abstract = True

    @task
    def page(self) -> None:
        self.browse()


class ApiUser(JourneyUser):
    """A logged-in user calling the API's read operations."""

    abstract = True

    @task
    def call(self) -> None:
        if self.plan.api_paths and self.ensure_login():
            self.read(self.plan.api_paths, self.headers)
        else:
            self.browse()


class LoginUser(JourneyUser):
    """Logs in again and again through the profile's JSON login."""

    abstract = True

    @task
    def log_in(self) -> None:
        plan = self.plan
        profile = STATE.profile
        if not plan.can_login or not plan.login_path or profile is None:
            self.browse()
            return
        auth = profile.auth
        users = [u for u in auth.users if u.password and u.name != auth.lockout_user]
        if not users:
            self.browse()
            return
        user = random.choice(users)
        body: dict[str, Any] = {auth.username_field: user.name, auth.password_field: user.password}
        with self.client.post(
            plan.login_path,
            json=body,
            allow_redirects=False,
            catch_response=True,
            name=plan.login_path,
        ) as response:
            if 200 <= response.status_code < 400:
                response.success()
            else:
                response.failure(f"login answered HTTP {response.status_code}")
        self.client.cookiejar.clear()
