"""Watched browser contexts on the guarded Chromium, and turning an open page into a visit.

Every context comes from :class:`harness.guard_browser.GuardedBrowser` (routed through the
scope guard, Chromium's resolver narrowed to the allow-list). On a target in safe mode a
second route refuses state-changing requests the profile does not allow (``scope.allow_writes``),
so a page's script cannot write where the harness itself may not.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness.browser import a11y, storage
from harness.browser.observe import PageVisit, Watch
from harness.guard_browser import GuardedBrowser
from harness.profile.e2e_section import E2ESettings
from harness.safety import SafetyPolicy

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

_NUMBER = re.compile(r"/\d+(?=/|$)")


def page_key(url: str) -> str:
    """Pages that differ only by an id in the path are one page for axe (run once each)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{_NUMBER.sub('/{n}', parts.path)}"


class WatchedContext:
    """A guarded context with its :class:`Watch`; :meth:`observe` records one visit."""

    def __init__(self, observer: Observer, context: BrowserContext) -> None:
        self.context = context
        self.watch = Watch(context)
        self._observer = observer

    def new_page(self) -> Page:
        return self.context.new_page()

    def renew(self, cookies: list[dict[str, Any]], headers: dict[str, str]) -> None:
        """A fresh credential of the same user (the old session may be about to expire)."""
        self.context.clear_cookies()
        if cookies:
            self.context.add_cookies(cookies)  # type: ignore[arg-type]
        if headers:
            self.context.set_extra_http_headers(headers)

    def observe(self, page: Page, source: str, *, audit: bool = True) -> PageVisit:
        return self._observer.observe(self, page, source, audit=audit)


class Observer:
    """Opens watched contexts and keeps every visit, in order."""

    def __init__(
        self,
        browser: GuardedBrowser,
        settings: E2ESettings,
        safety: SafetyPolicy,
        *,
        known_secrets: list[str] | None = None,
        session_cookie: str | None = None,
    ) -> None:
        self.browser = browser
        self.settings = settings
        self.safety = safety
        self.session_cookie = session_cookie
        self.visits: list[PageVisit] = []
        self.refused: list[str] = []  # state-changing requests safe mode held back
        self._secrets = [s for s in (known_secrets or []) if s]
        self._audited: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets.append(value)

    def context(
        self,
        cookies: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> WatchedContext:
        context = self.browser.new_context(cookies, headers)
        if self.safety.safe:
            context.route("**/*", self._hold_writes)  # runs before the guard's route
        for value in (headers or {}).values():
            self.add_secret(value.split(" ", 1)[-1])
        return WatchedContext(self, context)

    def observe(
        self, watched: WatchedContext, page: Page, source: str, *, audit: bool = True
    ) -> PageVisit:
        visit = watched.watch.take(page.url, _title(page), source)
        for cookie in watched.context.cookies():
            # What the server keeps from scripts is what must not show up where they read.
            if cookie.get("httpOnly"):
                self.add_secret(str(cookie.get("value", "")))
        try:
            snap = storage.snapshot(page)
            visit.storage = storage.summarise(snap, self._secrets, self.session_cookie)
        except Exception as exc:  # noqa: BLE001 - a closed or crashed page is recorded
            visit.a11y_note = f"storage not read: {type(exc).__name__}: {str(exc)[:200]}"
        key = page_key(page.url)
        if not audit:
            visit.a11y_note = visit.a11y_note or "axe not run on this step"
        elif key in self._audited:
            visit.a11y_note = visit.a11y_note or f"axe already ran on {key}"
        else:
            try:
                visit.a11y = a11y.audit(page, self.settings.a11y_disabled_rules)
                self._audited.add(key)
            except Exception as exc:  # noqa: BLE001 - axe that cannot run is not a pass
                visit.a11y_note = f"axe did not run: {type(exc).__name__}: {str(exc)[:200]}"
        with self._lock:
            self.visits.append(visit)
        return visit

    def _hold_writes(self, route: Route) -> None:
        request = route.request
        refused = self.safety.hold(request.method, request.url)
        if refused is None:
            route.fallback()
            return
        with self._lock:
            self.refused.append(f"{request.method} {request.url}")
        route.abort("blockedbyclient")


def _title(page: Page) -> str:
    try:
        return page.title()
    except Exception:  # noqa: BLE001 - a page mid-navigation has no title yet
        return ""
