"""What a browser context did while a page was open: console, errors, CSP, requests.

A :class:`Watch` is attached to a context before its first page; :meth:`Watch.take` closes
an observation window and returns it as a :class:`PageVisit` for the page's current URL.
CSP violations are read from the page's own ``securitypolicyviolation`` events (an init
script reports them through a binding), not parsed from console text.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from harness.browser.a11y import AxeViolation
from harness.browser.storage import StorageSummary

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Request, WebError

CSP_BINDING = "__harness_csp"
CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", (e) => {{
  try {{
    window.{CSP_BINDING}({{
      blocked: String(e.blockedURI || ""), directive: String(e.violatedDirective || ""),
      source: String(e.sourceFile || ""), line: Number(e.lineNumber || 0),
      sample: String(e.sample || ""), page: String(document.location.href)
    }});
  }} catch (_) {{}}
}});
"""


class ConsoleEntry(BaseModel):
    type: str
    text: str
    page: str | None = None


class CspViolation(BaseModel):
    blocked: str
    directive: str
    source: str = ""
    line: int = 0
    sample: str = ""
    page: str = ""


class RequestSeen(BaseModel):
    url: str
    method: str
    resource_type: str
    page: str | None = None  # the URL of the frame that asked
    top_navigation: bool = False  # a navigation of the main frame: where the user goes


class PageVisit(BaseModel):
    """One observation window that ended on ``url``."""

    url: str
    title: str = ""
    source: str  # "page sweep as alice", "journey test_x step 'import a playlist'"
    console: list[ConsoleEntry] = Field(default_factory=list)
    page_errors: list[str] = Field(default_factory=list)
    csp: list[CspViolation] = Field(default_factory=list)
    requests: list[RequestSeen] = Field(default_factory=list)
    storage: StorageSummary | None = None
    a11y: list[AxeViolation] | None = None  # None: axe did not run on this visit
    a11y_note: str = ""  # why axe did not run (not run twice on one page, or an error)
    error: str = ""  # the page did not load (a timeout, a reset): said, never a pass


class Watch:
    """Collects a context's events; thread-safe because Playwright calls back on its loop."""

    def __init__(self, context: BrowserContext) -> None:
        self._lock = threading.Lock()
        self._console: list[ConsoleEntry] = []
        self._errors: list[str] = []
        self._csp: list[CspViolation] = []
        self._requests: list[RequestSeen] = []
        self.log: list[ConsoleEntry] = []  # the whole console, for evidence
        context.expose_binding(CSP_BINDING, self._on_csp)
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._on_console)
        context.on("weberror", self._on_error)
        context.on("request", self._on_request)

    def take(self, url: str, title: str, source: str) -> PageVisit:
        with self._lock:
            visit = PageVisit(
                url=url,
                title=title,
                source=source,
                console=self._console,
                page_errors=self._errors,
                csp=self._csp,
                requests=self._requests,
            )
            self._console, self._errors, self._csp, self._requests = [], [], [], []
        return visit

    # -- callbacks -------------------------------------------------------------------------
    def _on_csp(self, _source: Any, data: dict[str, Any]) -> None:
        violation = CspViolation.model_validate(data)
        with self._lock:
            self._csp.append(violation)

    def _on_console(self, message: ConsoleMessage) -> None:
        entry = ConsoleEntry(type=message.type, text=message.text[:1000], page=_page_url(message))
        with self._lock:
            self._console.append(entry)
            self.log.append(entry)

    def _on_error(self, error: WebError) -> None:
        with self._lock:
            self._errors.append(str(error.error)[:1000])

    def _on_request(self, request: Request) -> None:
        try:
            frame = request.frame
            page: str | None = frame.url
            top = request.is_navigation_request() and frame.parent_frame is None
        except Exception:  # noqa: BLE001 - a service worker's request has no frame
            page, top = None, False
        seen = RequestSeen(
            url=request.url,
            method=request.method,
            resource_type=request.resource_type,
            page=page,
            top_navigation=top,
        )
        with self._lock:
            self._requests.append(seen)


def _page_url(message: ConsoleMessage) -> str | None:
    page = message.page
    return page.url if page is not None else None
