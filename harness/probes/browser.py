"""A real browser (Debian's Chromium through Playwright) for checks that need one.

The browser itself is launched by :mod:`harness.guard_browser`, the one place that does, so
every page stays inside the scope allow-list; this module keeps the probes' small helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from harness.guard_browser import chromium_path, guarded_browser
from harness.scope import ScopeGuard

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from harness.auth import Session

__all__ = ["browser_context", "chromium_path", "cookies_for", "session_credential"]


# Without a profile's guard: loopback only, stricter than any profile's allow-list.
LOOPBACK = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])


@contextmanager
def browser_context(
    cookies: list[dict[str, Any]] | None = None,
    *,
    headers: dict[str, str] | None = None,
    guard: ScopeGuard | None = None,
) -> Iterator[BrowserContext]:
    """A fresh guarded Chromium context; raises NotEvaluated when no browser can start.

    Checks that attach the refused requests as evidence use
    :func:`harness.guard_browser.guarded_browser` and read its ``blocked`` list.
    """
    with guarded_browser(guard or LOOPBACK) as browser:
        yield browser.new_context(cookies, headers)


def cookies_for(client: Any, base_url: str) -> list[dict[str, Any]]:
    """The cookies of an httpx client as Playwright cookies for ``base_url``."""
    parts = urlsplit(base_url)
    out: list[dict[str, Any]] = []
    for cookie in client.cookies.jar:
        out.append(
            {
                "name": cookie.name,
                "value": cookie.value,
                "domain": parts.hostname or "127.0.0.1",
                "path": cookie.path or "/",
                "secure": parts.scheme == "https",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        )
    return out


def session_credential(
    session: Session, base_url: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What a browser context needs to be this session: its cookies and its token headers.

    Cookie flows give cookies, header flows (bearer, API key, JSON token) give headers; a
    flow may give both. Pass them as ``new_context(cookies, headers)``.
    """
    return cookies_for(session.client, base_url), session.headers
