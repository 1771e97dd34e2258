"""The target's operations: from its OpenAPI document when it serves one, else from a crawl.

``Target.operations()`` is the one way probes and suites ask for them; the answer says where
the operations came from and, for a crawl, how much of the site the budget covered, so a
verdict can report its coverage honestly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.operations import crawl as from_crawl
from harness.operations.model import Operation, Source
from harness.operations.openapi import load as load_document
from harness.probes.crawl import CrawlResult
from harness.verdicts import NotApplicable

# Bounds of the discovery crawl: it runs once per session, before any probe.
CRAWL_PAGES = 25
CRAWL_SECONDS = 20.0
NO_DOCUMENT = "the target serves no OpenAPI document (target.openapi_path = false)"


class Discovered(BaseModel):
    """A target's operations and how they were found (for evidence)."""

    source: Source
    operations: list[Operation] = Field(default_factory=list)
    note: str = Field(description="where the operations came from, and the crawl's budget")
    # Why the document was not used (crawl only): said next to any crawl-based verdict.
    no_document: str | None = None
    # Operations of the document its loader rejected ("METHOD path" -> reason): never dropped
    # in silence, the note names them.
    unloadable: dict[str, str] = Field(default_factory=dict)

    def require_document(self) -> None:
        """For checks that only a document makes possible (response schema conformance)."""
        if self.source != "openapi":
            raise NotApplicable(self.no_document or NO_DOCUMENT)


def discover(
    document: Callable[[], dict[str, Any]],
    crawl: Callable[[int, float], CrawlResult],
    base_url: str,
) -> Discovered:
    """Operations of the document ``document()`` returns, or of ``crawl(pages, seconds)``.

    ``document`` raises NotApplicable when the target has none; the crawl is then the source,
    and NotApplicable (with both reasons) when it finds no form and no query link either.
    """
    try:
        doc = document()
    except NotApplicable as exc:
        why = exc.reason
    else:
        loaded = load_document(doc)
        if "document" not in loaded.unloadable:
            return Discovered(
                source="openapi",
                operations=loaded.operations,
                note=loaded.summary(),
                unloadable=loaded.unloadable,
            )
        # A document the loader rejects as a whole is as good as none: crawl, and say why,
        # rather than hand every probe zero operations to pass on.
        why = f"the target's OpenAPI document could not be loaded ({loaded.unloadable['document']})"
    result = crawl(CRAWL_PAGES, CRAWL_SECONDS)
    ops = from_crawl.operations(result, base_url)
    budget = f"at most {CRAWL_PAGES} pages and {CRAWL_SECONDS:.0f}s"
    coverage = (
        f"crawled {len(result.pages)} pages ({budget}"
        + (f"; stopped early: {result.stopped_early}" if result.stopped_early else "")
        + f"): {len(result.forms)} forms, {len(ops)} operations"
    )
    if not ops:
        raise NotApplicable(f"{why}, and the crawl found no form or query link ({coverage})")
    return Discovered(source="crawl", operations=ops, note=f"{why}; {coverage}", no_document=why)
