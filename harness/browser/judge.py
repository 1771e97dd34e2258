"""Each browser-side control's problems, from the page visits the sweep and journeys recorded.

A judgement lists its problems (one line each, with the page) and says how many visits it
judged, so a verdict can say "checked 14 page visits" and a visit axe did not run on is not
counted as an accessible page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from harness.browser.observe import PageVisit

# The egress guard aborts off-list requests with this error; the console then reports the
# failed load. The request itself is E2E-03's finding, not a script error of the page.
GUARD_ABORT = "ERR_BLOCKED_BY_CLIENT"
MIXED_CONSOLE = "Mixed Content:"
# Chromium aborts loads in flight when the machine's network interfaces change (a container
# engine adding a bridge, a VPN): the machine's event, not an error of the page.
NETWORK_CHANGED = "ERR_NETWORK_CHANGED"


class Judgement(BaseModel):
    problems: list[str] = Field(default_factory=list)
    judged: int = 0
    notes: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def origin(url: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def console_and_csp(visits: list[PageVisit]) -> Judgement:
    """E2E-02: console errors, uncaught page errors, CSP violations."""
    out = Judgement(judged=len(visits))
    for visit in visits:
        for entry in visit.console:
            if entry.type != "error":
                continue
            if GUARD_ABORT in entry.text:
                out.notes.append(f"{visit.url}: a load the egress guard refused (see E2E-03)")
                continue
            if NETWORK_CHANGED in entry.text:
                out.notes.append(
                    f"{visit.url}: a load aborted because the machine's network changed "
                    f"({entry.text[:200]}); not judged as the page's error"
                )
                continue
            out.problems.append(f"{visit.url} ({visit.source}): console error: {entry.text}")
        for error in visit.page_errors:
            out.problems.append(f"{visit.url} ({visit.source}): uncaught error: {error}")
        for csp in visit.csp:
            blocked = csp.blocked or "(inline)"
            where = f" at {csp.source}:{csp.line}" if csp.source else ""
            out.problems.append(
                f"{csp.page or visit.url} ({visit.source}): CSP violation of "
                f"{csp.directive}: {blocked}{where}"
            )
    out.notes = list(dict.fromkeys(out.notes))
    out.problems = list(dict.fromkeys(out.problems))
    return out


def requests(visits: list[PageVisit], allowed_origins: list[str]) -> Judgement:
    """E2E-03: mixed content, and requests to origins other than the page's own."""
    allowed = {origin(o) or o.rstrip("/") for o in allowed_origins}
    out = Judgement(judged=len(visits))
    for visit in visits:
        for request in visit.requests:
            if request.top_navigation or not request.page:
                continue  # where the user goes, or a worker's request: not a page's resource
            scheme = urlsplit(request.url).scheme
            if scheme not in ("http", "https", "ws", "wss"):
                continue  # data:, blob: and the like never leave the browser
            page_origin = origin(request.page)
            if request.page.startswith("https:") and scheme in ("http", "ws"):
                out.problems.append(
                    f"{request.page}: mixed content: {request.resource_type} {request.url}"
                )
            target = origin(request.url)
            if target != page_origin and target not in allowed:
                out.problems.append(
                    f"{request.page}: third-party {request.resource_type} request to {target} "
                    f"({request.url[:200]})"
                )
        for entry in visit.console:
            # Chromium upgrades or blocks mixed content before any request is made.
            if entry.text.startswith(MIXED_CONSOLE):
                out.problems.append(f"{entry.page or visit.url}: {entry.text[:300]}")
    out.problems = list(dict.fromkeys(out.problems))
    return out


def storage(visits: list[PageVisit]) -> Judgement:
    """E2E-04: secrets readable by scripts, on every visit whose storage was read."""
    read = [v for v in visits if v.storage is not None]
    out = Judgement(judged=len(read))
    for visit in read:
        assert visit.storage is not None
        for problem in visit.storage.problems:
            out.problems.append(
                f"{problem.origin} {problem.where}[{problem.key!r}] ({visit.source}): {problem.why}"
            )
    skipped = len(visits) - len(read)
    if skipped:
        out.notes.append(f"{skipped} visit(s) whose storage could not be read")
    out.problems = list(dict.fromkeys(out.problems))
    return out


def accessibility(visits: list[PageVisit], fail_impacts: list[str]) -> Judgement:
    """E2E-05: axe-core violations of the failing impacts, on every visit axe ran on."""
    audited = [v for v in visits if v.a11y is not None]
    out = Judgement(judged=len(audited))
    for visit in audited:
        assert visit.a11y is not None
        for violation in visit.a11y:
            line = (
                f"{visit.url} ({visit.source}): {violation.impact} {violation.rule}: "
                f"{violation.help} ({violation.nodes} node(s): {', '.join(violation.targets[:3])})"
            )
            if violation.impact in fail_impacts:
                out.problems.append(line)
            else:
                out.notes.append(line)
    return out
