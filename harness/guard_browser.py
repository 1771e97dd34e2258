"""The only place that launches a browser: Chromium held inside the scope allow-list.

Two layers, because request interception alone is not enough:

- Chromium's own host resolver is told that every name outside the allow-list does not exist
  (``--host-resolver-rules``), so nothing the page or the browser does (DNS prefetch,
  preconnect, a WebSocket, a service worker) makes a DNS query for such a name; the
  background-networking flags stop the browser's own traffic (updates, sync, safe browsing).
- Every context routes every request through the guard: an off-list request is aborted
  before it is sent and recorded with the page that asked, so a page that pulls third-party
  resources shows up as evidence (:func:`third_party_finding`).

Never ``playwright install``: the machine is offline, Debian's chromium is used instead.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from harness.findings import Confidence, Finding, Severity
from harness.scope import ScopeGuard
from harness.verdicts import NotEvaluated

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

BASE_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # The browser's own traffic: updates, sync, field trials, safe browsing, metrics.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-pings",
    "--disable-quic",
    "--dns-prefetch-disable",
]
# Schemes that never leave the browser.
LOCAL_SCHEMES = ("data", "blob", "about", "chrome", "chrome-extension", "devtools")


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


def _address_patterns(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """Wildcard patterns (Chromium matches ``*`` only) that cover the addresses of a network.

    IPv4 prefixes are widened to whole octets (a /20 becomes sixteen /24 patterns, at most
    256; past that one coarser pattern): an address literal is never a DNS query, and the
    route still checks the exact network. IPv6 networks are listed when they are single
    addresses (``::1``); other IPv6 ranges cannot be written as patterns and stay unreachable.
    """
    if isinstance(network, ipaddress.IPv6Network):
        if network.prefixlen != 128:
            return []
        text = str(network.network_address)
        return [text, f"[{text}]"]
    octets = -(-network.prefixlen // 8)  # whole octets that the patterns fix
    if octets == 4:
        subnets = list(network.subnets(new_prefix=32)) if network.prefixlen < 32 else [network]
        if len(subnets) <= 256:
            return [str(n.network_address) for n in subnets]
        octets = 3
    new_prefix = octets * 8
    if new_prefix > network.prefixlen and 2 ** (new_prefix - network.prefixlen) > 256:
        new_prefix = network.prefixlen // 8 * 8
    subnets = (
        list(network.subnets(new_prefix=new_prefix))
        if new_prefix > network.prefixlen
        else [network.supernet(new_prefix=new_prefix)]
        if new_prefix < network.prefixlen
        else [network]
    )
    patterns = []
    for subnet in subnets:
        fixed = str(subnet.network_address).split(".")[: new_prefix // 8]
        patterns.append(".".join([*fixed, "*"]) if fixed else "*")
    return patterns


def resolver_rules(guard: ScopeGuard) -> str:
    """``--host-resolver-rules``: every host is NOTFOUND except the allow-list.

    Chromium applies the rules to address literals too, so the allow-list's networks are
    excluded as address patterns and its names by name; everything else fails in the browser
    without a DNS query.
    """
    excluded: list[str] = []
    for network in guard.networks:
        excluded += _address_patterns(network)
    excluded += sorted(guard.names)
    if "*" in excluded:
        return ""  # an allow-list of everything: no rule can narrow it
    return ", ".join(["MAP * ~NOTFOUND", *(f"EXCLUDE {p}" for p in dict.fromkeys(excluded))])


def chromium_args(guard: ScopeGuard) -> list[str]:
    rules = resolver_rules(guard)
    return [*BASE_ARGS, f"--host-resolver-rules={rules}"] if rules else list(BASE_ARGS)


class BlockedRequest(BaseModel):
    """A request the guard refused before it left the browser."""

    url: str
    host: str
    resource_type: str
    page: str | None = None


class GuardedBrowser:
    """A launched Chromium whose every context is routed through the guard."""

    def __init__(self, browser: Browser, guard: ScopeGuard) -> None:
        self._browser = browser
        self._guard = guard
        self._lock = threading.Lock()
        self._contexts: list[BrowserContext] = []
        self.blocked: list[BlockedRequest] = []

    def new_context(
        self,
        cookies: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> BrowserContext:
        """A routed context; ``cookies`` and ``headers`` carry a session's credential (a
        cookie jar, or the ``Authorization`` / API-key header of a token flow)."""
        # ignore_https_errors: the stack's CA is a file Chromium cannot be handed per context
        # (it reads the NSS database), and the browser checks are about what runs and what
        # loads, not TLS (SEC-11 judges the certificate chain). Service workers are blocked:
        # their requests would not pass through the route. The route refuses every host
        # outside the allow-list, so the headers reach no other site.
        context = self._browser.new_context(
            ignore_https_errors=True,
            java_script_enabled=True,
            service_workers="block",
            extra_http_headers=headers or None,
        )
        context.route("**/*", self._route)
        if cookies:
            context.add_cookies(cookies)  # type: ignore[arg-type]
        self._contexts.append(context)
        return context

    def new_page(
        self,
        cookies: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        return self.new_context(cookies, headers).new_page()

    def _route(self, route: Route) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.scheme in LOCAL_SCHEMES or self._guard.allows_host(parts.hostname or ""):
            route.continue_()
            return
        try:
            page: str | None = request.frame.url
        except Exception:  # noqa: BLE001 - a worker's request has no frame
            page = None
        with self._lock:
            self.blocked.append(
                BlockedRequest(
                    url=request.url,
                    host=parts.hostname or "",
                    resource_type=request.resource_type,
                    page=page,
                )
            )
        route.abort("blockedbyclient")

    def close(self) -> None:
        for context in self._contexts:
            try:
                context.close()
            except Exception:  # noqa: BLE001, S112 - closing a dead context is not an error
                continue
        self._browser.close()


@contextmanager
def guarded_browser(guard: ScopeGuard) -> Iterator[GuardedBrowser]:
    """Chromium held inside ``guard``; raises NotEvaluated when no browser can start."""
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
                executable_path=executable,
                args=chromium_args(guard),
                headless=True,
                timeout=30_000,
            )
        except PlaywrightError as exc:
            raise NotEvaluated(f"Chromium did not start: {exc}") from exc
        guarded = GuardedBrowser(browser, guard)
        try:
            yield guarded
        finally:
            guarded.close()
    finally:
        manager.stop()


def third_party_finding(blocked: list[BlockedRequest], control: str) -> Finding | None:
    """One finding naming the pages that tried to load resources from outside the allow-list.

    Low severity: a third-party script is a supply-chain exposure (CWE-829) whether or not it
    carries Subresource Integrity, which SEC-16 judges; the browser only saw the attempt.
    """
    if not blocked:
        return None
    pairs = sorted({(b.page or "(no page)", b.url) for b in blocked})
    lines = [f"{page} -> {url}" for page, url in pairs[:40]]
    more = f"\n... and {len(pairs) - 40} more" if len(pairs) > 40 else ""
    hosts = sorted({b.host for b in blocked})
    return Finding(
        rule="harness:third-party-resource",
        title=f"page loads resources from outside the allow-list ({', '.join(hosts[:5])})",
        severity=Severity.LOW,
        confidence=Confidence.CONFIRMED,
        engine="harness",
        control=control,
        cwe=829,
        owasp="A08",
        url=pairs[0][0] if pairs[0][0] != "(no page)" else None,
        evidence="blocked before they left the browser:\n" + "\n".join(lines) + more,
    )
