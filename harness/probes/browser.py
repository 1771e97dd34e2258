"""A real browser (Debian's Chromium through Playwright) for checks that need one.

Never ``playwright install``: the machine is offline, Debian's chromium is used instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from harness.verdicts import NotEvaluated

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("HARNESS_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@contextmanager
def browser_context(cookies: list[dict[str, Any]] | None = None) -> Iterator[Any]:
    """A fresh Chromium context; raises NotEvaluated when no browser can start."""
    executable = chromium_path()
    if executable is None:
        raise NotEvaluated("no Chromium found (/usr/bin/chromium); install Debian's chromium")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dependency
        raise NotEvaluated(f"playwright is not importable: {exc}") from exc
    try:
        manager = sync_playwright().start()
    except Exception as exc:  # noqa: BLE001 - any start failure means "cannot evaluate"
        raise NotEvaluated(f"playwright could not start: {exc}") from exc
    try:
        try:
            browser = manager.chromium.launch(
                executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=30_000
            )
        except PlaywrightError as exc:
            raise NotEvaluated(f"Chromium did not start: {exc}") from exc
        # ignore_https_errors: the stack's CA is a file Chromium cannot be handed per context
        # (it reads the NSS database), and this check is about script execution, not TLS
        # (SEC-11 judges the certificate chain).
        context = browser.new_context(ignore_https_errors=True, java_script_enabled=True)
        if cookies:
            context.add_cookies(cookies)  # type: ignore[arg-type]
        try:
            yield context
        finally:
            context.close()
            browser.close()
    finally:
        manager.stop()


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
