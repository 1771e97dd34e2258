"""The target as the suites see it: URLs, its operations, scoped clients, logs.

Suites never read the reference app's code; everything they know comes from the profile,
the running stack (when the profile manages one) and what the target itself serves.
"""

from __future__ import annotations

import subprocess
from contextlib import nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from harness.loopback import usable
from harness.operations.discovery import NO_DOCUMENT, Discovered, discover
from harness.probes.crawl import CrawlResult, crawl
from harness.profile import Profile
from harness.safety import SafetyPolicy
from harness.scope import ScopeGuard, scoped_client
from harness.stack.base import LifecycleUnsupported, Stack
from harness.verdicts import NotApplicable


class Target:
    """One target under test; cheap to create, shared per test session."""

    def __init__(self, profile: Profile, stack: Stack | None = None, ca_bundle: str | None = None):
        self.profile = profile
        self.stack = stack
        # One policy per target: every client below shares its refusals and its pacing.
        self.safety = SafetyPolicy.from_profile(profile)
        self.guard = ScopeGuard(profile.scope.allow, policy=self.safety)
        self._ca_bundle = ca_bundle
        self._anonymous_operations: Discovered | None = None

    # -- addresses -------------------------------------------------------------------------
    @cached_property
    def base_url(self) -> str:
        if self.profile.target.base_url:
            url = self.profile.target.base_url.rstrip("/")
        elif self.stack is not None:
            url = self.stack.url(self.profile.target.app_service)
        else:
            raise NotApplicable("the profile names no base_url and manages no stack")
        self.guard.check(url)
        return url

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def service_url(self, service: str) -> str:
        """Base URL of another service of the stack (a mock, the database)."""
        if self.stack is None:
            raise NotApplicable(f"service {service!r} is not reachable: the target is external")
        try:
            return self.stack.url(service)
        except (KeyError, LifecycleUnsupported) as exc:
            raise NotApplicable(f"service {service!r} is not part of this target: {exc}") from exc

    @property
    def verify(self) -> bool | str:
        if self._ca_bundle:
            return self._ca_bundle
        return self.profile.target.verify_tls

    # -- clients ---------------------------------------------------------------------------
    def client(self, *, base: str | None = None, **kwargs: Any) -> httpx.Client:
        """A scoped client for the app (or ``base``); never follows redirects unless asked."""
        kwargs.setdefault("follow_redirects", False)
        kwargs.setdefault("timeout", httpx.Timeout(self.profile.target.request_timeout_s))
        kwargs["local_address"] = usable(kwargs.get("local_address"), base or self.base_url)
        return scoped_client(
            self.guard, verify=self.verify, base_url=base or self.base_url, **kwargs
        )

    @cached_property
    def openapi(self) -> dict[str, Any]:
        path = self.profile.target.openapi_path
        if path is None:
            raise NotApplicable(NO_DOCUMENT)
        with self.client() as client:
            response = client.get(path)
        if response.status_code != 200:
            raise NotApplicable(f"no OpenAPI document at {path} (HTTP {response.status_code})")
        try:
            document = response.json()
        except ValueError:
            document = None
        # Apps that answer every unknown path with their HTML shell say 200 here too.
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            raise NotApplicable(
                f"{path} answered HTTP 200 with no OpenAPI document "
                f"({response.headers.get('content-type', 'no content-type')}); set "
                "target.openapi_path to the document, or false when the target has none"
            )
        # scope.exclude: what the document does not list, no probe walking it can call.
        return self.safety.without_excluded(document)

    def openapi_or_empty(self) -> tuple[dict[str, Any], str | None]:
        """The document, or an empty one and why there is none.

        For checks that use a document when the target has one but do not need it (headers and
        error disclosure on every response class): they go on over pages and provoked errors and
        say what they could not walk, rather than not applying at all.
        """
        try:
            return self.openapi, None
        except NotApplicable as absent:
            return {"paths": {}}, absent.reason

    def operations(self, client: httpx.Client | None = None) -> Discovered:
        """The target's operations: its OpenAPI document's, else those a crawl of
        ``target.pages`` finds (as ``client``'s user, anonymous by default; the anonymous
        answer is kept for the session). NotApplicable when neither finds any."""
        if client is None and self._anonymous_operations is not None:
            return self._anonymous_operations

        def crawl_pages(pages: int, seconds: float) -> CrawlResult:
            with nullcontext(client) if client is not None else self.client() as crawler:
                return crawl(
                    crawler,
                    self.base_url,
                    self.profile.target.pages,
                    max_pages=pages,
                    max_assets=0,
                    total_s=seconds,
                )

        found = discover(lambda: self.openapi, crawl_pages, self.base_url)
        if client is None:
            self._anonymous_operations = found
        return found

    # -- logs ------------------------------------------------------------------------------
    def log_mark(self) -> int:
        source = self.profile.logs
        if source.source == "stack":
            if self.stack is None:
                raise NotApplicable("logs come from the stack, but the target is external")
            return self.stack.mark(source.service)
        if source.source == "file" and source.path:
            return len(Path(source.path).read_text(encoding="utf-8", errors="replace").splitlines())
        if source.source == "command":
            return len(self._command_lines())
        raise NotApplicable("the profile names no log source (logs.source = 'none')")

    def log_lines(self, since: int = 0) -> list[str]:
        source = self.profile.logs
        if source.source == "stack":
            if self.stack is None:
                raise NotApplicable("logs come from the stack, but the target is external")
            return self.stack.logs(source.service, since)
        if source.source == "file" and source.path:
            lines = Path(source.path).read_text(encoding="utf-8", errors="replace").splitlines()
            return lines[since:]
        if source.source == "command":
            return self._command_lines()[since:]
        raise NotApplicable("the profile names no log source (logs.source = 'none')")

    def _command_lines(self) -> list[str]:
        argv = self.profile.logs.command or []
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        return done.stdout.splitlines()
