"""Every page and read operation a user reaches, fetched once within a budget (SEC-07).

Error disclosure was judged on the first three profile pages only, and a third-party app passed
while other pages answered 500 with a traceback. This walk fetches every profile page
(anonymously and logged in), the pages a logged-in crawl reaches from them, and every GET
operation of the API (templated paths with real ids), until a request or time budget is
spent. It only reads: GET requests, no forms submitted. What the budget left out is counted,
so the verdict can say "judged 30 of 41 pages and operations".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, Field

from harness.operations import Operation, build_request
from harness.probes.bounded import Fetched, fetch
from harness.probes.crawl import crawl

Send = Callable[..., Fetched]


class ReadWalk(BaseModel):
    responses: list[Fetched] = Field(default_factory=list)
    pages: int = 0  # pages fetched (profile pages and crawl)
    operations: int = 0  # GET operations fetched
    left_out: list[str] = Field(default_factory=list)  # GET operations not fetched (budget)
    crawl_stopped: str | None = None  # why the crawl stopped early, if it did
    budget: str = ""

    def coverage(self) -> str:
        """``judged 12 pages and 9 of 11 GET operations (budget 60 requests / 20 s; ...)``."""
        planned = self.operations + len(self.left_out)
        line = f"judged {self.pages} pages and {self.operations} of {planned} GET operations"
        notes = [self.budget]
        if self.crawl_stopped:
            notes.append(f"crawl: {self.crawl_stopped}")
        if self.left_out:
            notes.append(f"{len(self.left_out)} left out for the budget")
        return f"{line} ({'; '.join(n for n in notes if n)})"


def walk_reads(
    *,
    anonymous: httpx.Client,
    user: httpx.Client,
    base_url: str,
    pages: list[str],
    send: Send,
    ops: list[Operation],
    ids: dict[str, Any],
    skip: Callable[[Operation], bool] | None = None,
    max_requests: int = 60,
    total_s: float = 20.0,
) -> ReadWalk:
    """Fetch pages and GET operations; stop at ``max_requests`` or ``total_s``."""
    started = time.monotonic()
    walk = ReadWalk(budget=f"budget {max_requests} requests / {total_s:.0f} s")
    spent = 0
    for path in pages:  # what an anonymous visitor sees (login pages, redirects)
        walk.responses.append(fetch(anonymous, "GET", path, total_s=5))
        spent += 1
    # The logged-in crawl starts at the profile pages, so all of them come first (breadth-first).
    found = crawl(
        user,
        base_url,
        pages,
        max_pages=max(max_requests // 2, len(pages)),
        max_assets=0,
        total_s=total_s / 2,
    )
    walk.responses.extend(found.pages)
    walk.pages = len(pages) + len(found.pages)
    walk.crawl_stopped = found.stopped_early
    spent += len(found.pages)
    seen = {r.url.split("?", 1)[0] for r in walk.responses}
    for op in ops:
        if op.method != "GET" or (skip is not None and skip(op)):
            continue
        method, path, kwargs = build_request(op, ids)
        if base_url + path in seen:
            continue  # a page the crawl already fetched
        if spent >= max_requests or time.monotonic() - started > total_s:
            walk.left_out.append(op.key)
            continue
        walk.responses.append(send(method, path, total_s=5, **kwargs))
        walk.operations += 1
        spent += 1
    return walk
