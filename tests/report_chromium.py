"""Debian's Chromium, launched bare to look at a written HTML report.

Not the harness's guarded browser (``harness.guard_browser``): a report is a local file that
must fetch nothing, so these tests watch its requests themselves. Playwright's own browser
download is never used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
