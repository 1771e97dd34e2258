"""What a journey test drives: pages in watched contexts, named steps, evidence.

A journey is the target's own test (its page objects, locators and assertions); the harness
gives it pages that are egress-guarded and observed, a context already logged in through the
profile's auth adapter when the journey is not about logging in, and evidence without asking:
a screenshot at the end of every step, the console log, the visits, and a Playwright trace
when the journey fails (open it with ``playwright show-trace trace.zip``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from harness.browser.judge import NETWORK_CHANGED
from harness.browser.observe import ConsoleEntry, PageVisit
from harness.browser.session import Observer, WatchedContext
from harness.evidence import Evidence
from harness.verdicts import NotEvaluated

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from harness.auth import Session


class Journey:
    """One journey test's browser; see docs/journeys.md."""

    def __init__(
        self,
        observer: Observer,
        base_url: str,
        evidence: Evidence,
        login: Callable[[str | None], Session],
        credential: Callable[[Session], tuple[list[dict[str, object]], dict[str, str]]],
        *,
        default_user: str | None,
        timeout_ms: int,
    ) -> None:
        self.base_url = base_url
        self.evidence = evidence
        self.failed = False
        self.steps: list[str] = []
        self._observer = observer
        self._login = login
        self._credential = credential
        self._default_user = default_user
        self._timeout_ms = timeout_ms
        self._contexts: list[WatchedContext] = []
        self._current: tuple[WatchedContext, Page] | None = None
        self._anonymous: Page | None = None

    # -- pages -----------------------------------------------------------------------------
    @property
    def page(self) -> Page:
        """A page in a fresh anonymous context (for journeys that log in themselves)."""
        if self._anonymous is None:
            self._anonymous = self._open(self._observer.context())
        return self._anonymous

    def logged_in_page(self, user: str | None = None) -> Page:
        """A page whose context carries the session of ``user`` (default ``e2e.user``),
        logged in through the profile's auth adapter (no login screen involved)."""
        session = self._login(user or self._default_user)
        cookies, headers = self._credential(session)
        for cookie in cookies:
            self._observer.add_secret(str(cookie.get("value", "")))
        return self._open(self._observer.context(cookies, headers))

    def api_session(self, user: str | None = None) -> Session:
        """An HTTP session of ``user`` through the adapter (scope-guarded, closed after the
        test), for a journey's preconditions: data it needs, or leftovers of an earlier run."""
        session = self._login(user or self._default_user)
        for cookie in self._credential(session)[0]:
            self._observer.add_secret(str(cookie.get("value", "")))
        return session

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    @property
    def visits(self) -> list[PageVisit]:
        return self._observer.visits

    @property
    def console(self) -> list[ConsoleEntry]:
        return [entry for watched in self._contexts for entry in watched.watch.log]

    # -- steps -----------------------------------------------------------------------------
    @contextmanager
    def step(self, name: str, page: Page | None = None) -> Iterator[None]:
        """A named step; at its end (passed or failed) the page is shot and observed.

        A step that fails while Chromium aborted a load because the machine's network changed
        (a container engine adding a bridge beside the run) says nothing about the target: the
        journey is not_evaluated with both reasons, and a rerun judges it.
        """
        self.steps.append(name)
        number = len(self.steps)
        seen = len(self.console)
        try:
            yield
        except Exception as exc:
            self.failed = True
            self._record(number, name, page, failed=True)
            changed = [e.text for e in self.console[seen:] if NETWORK_CHANGED in e.text]
            if changed:
                raise NotEvaluated(
                    f"step {number} ({name}) failed while the machine's network changed "
                    f"(Chromium aborted a load: {changed[0][:160]}); not judged: "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                ) from exc
            raise
        except BaseException:
            self.failed = True
            self._record(number, name, page, failed=True)
            raise
        self._record(number, name, page, failed=False)

    def _record(self, number: int, name: str, page: Page | None, *, failed: bool) -> None:
        target = page or (self._current[1] if self._current else None)
        if target is None or target.is_closed():
            return
        watched = self._watched_for(target)
        label = f"step {number}: {name}" + (" (failed)" if failed else "")
        try:
            self.evidence.screenshot(target.screenshot(), label)
        except Exception as exc:  # noqa: BLE001 - a missing screenshot is said, not fatal
            self.evidence.text(f"{label}: no screenshot", f"{type(exc).__name__}: {exc}")
        if watched is None:
            return
        source = f"journey {self.evidence.nodeid.rsplit('::', 1)[-1]}, {label}"
        # A failed step's page is still judged by E2E-02..04; axe waits for a page that works.
        watched.observe(target, source, audit=not failed)

    # -- end -------------------------------------------------------------------------------
    def finish(self, *, failed: bool, trace_dir: Path | None = None) -> None:
        """Evidence of the whole journey; a trace of every context when it failed."""
        failed = failed or self.failed
        self.evidence.log(
            [f"{e.type}: {e.text}  [{e.page or ''}]" for e in self.console] or ["(empty)"],
            "browser console",
        )
        folder = trace_dir or Path(tempfile.mkdtemp(prefix="harness-trace-"))
        for index, watched in enumerate(self._contexts, start=1):
            try:
                if failed:
                    path = folder / f"trace-{index}.zip"
                    watched.context.tracing.stop(path=str(path))
                    self.evidence.file(path, f"Playwright trace {index} (playwright show-trace)")
                else:
                    watched.context.tracing.stop()
            except Exception as exc:  # noqa: BLE001 - a trace that cannot be saved is said
                self.evidence.text(f"trace {index} not saved", f"{type(exc).__name__}: {exc}")

    # -- internals -------------------------------------------------------------------------
    def _open(self, watched: WatchedContext) -> Page:
        watched.context.tracing.start(screenshots=True, snapshots=True)
        watched.context.set_default_timeout(self._timeout_ms)
        self._contexts.append(watched)
        page = watched.new_page()
        self._current = (watched, page)
        page.on("load", lambda loaded: self._focus(watched, loaded))
        return page

    def _focus(self, watched: WatchedContext, page: Page) -> None:
        self._current = (watched, page)

    def _watched_for(self, page: Page) -> WatchedContext | None:
        for watched in self._contexts:
            if page.context == watched.context:
                return watched
        return None
