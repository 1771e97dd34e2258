"""The page sweep: every page of the profile, opened anonymously and as a logged-in user.

It only loads pages (GET navigations; in safe mode the page's own writes are held back), so it
is safe on any target. Each page is one visit: console, CSP, requests, storage and axe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, Field

from harness.browser.judge import NETWORK_CHANGED
from harness.browser.session import WatchedContext

if TYPE_CHECKING:
    from playwright.sync_api import Page

LOAD_TIMEOUT_MS = 20_000
SETTLE_TIMEOUT_MS = 3_000


class Shot(BaseModel):
    title: str
    png: bytes


class SweepResult(BaseModel):
    pages: list[str]
    roles: list[str]
    screenshots: list[Shot] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Role(Protocol):
    """Who the sweep is: a label and a context, kept logged in while the sweep runs."""

    label: str

    def context(self) -> WatchedContext | None:
        """The context for the next page, its credential renewed if it may have expired
        (None: this role could not start; the role says why in the sweep's notes)."""
        ...


def sweep(
    base_url: str,
    pages: Sequence[str],
    roles: Sequence[Role],
    result: SweepResult,
) -> None:
    """Open each of ``pages`` as each of ``roles``."""
    for role in roles:
        watched = role.context()
        if watched is None:
            continue
        result.roles.append(role.label)
        page = watched.new_page()
        try:
            for path in pages:
                watched = role.context() or watched
                url = base_url + (path if path.startswith("/") else "/" + path)
                error = _load(page, url)
                if NETWORK_CHANGED in error:
                    # The machine's network changed under the browser: that window shows
                    # nothing of the page, so it is dropped and the page loaded once more.
                    watched.watch.take(page.url, "", "dropped")
                    result.notes.append(f"{url} ({role.label}) reloaded: {error[:200]}")
                    error = _load(page, url)
                visit = watched.observe(page, f"page sweep, {role.label}: {path}")
                if error:
                    visit.error = error
                    result.notes.append(f"{url} ({role.label}) did not load: {error}")
                try:
                    result.screenshots.append(
                        Shot(title=f"{role.label}: {path} -> {page.url}", png=page.screenshot())
                    )
                except Exception as exc:  # noqa: BLE001 - a screenshot is evidence, not a check
                    result.notes.append(f"no screenshot of {url} ({role.label}): {exc}")
        finally:
            page.close()


def _load(page: Page, url: str) -> str:
    try:
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
    except Exception as exc:  # noqa: BLE001 - a page that does not load is recorded
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    # Scripts that fetch after load (live progress, lazy panels) get a short moment; a page
    # that keeps polling is still judged.
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
    return ""
