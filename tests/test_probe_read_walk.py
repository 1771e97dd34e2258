"""Unit tests for harness.probes.read_walk: every page, not the first three (SEC-07)."""

from __future__ import annotations

from typing import Any

import httpx

from harness.operations import operations
from harness.probes.bounded import Fetched, fetch
from harness.probes.errors import disclosures
from harness.probes.read_walk import walk_reads
from harness.scope import ScopeGuard, scoped_client

BASE = "https://127.0.0.1:8443"
TRACE = 'Traceback (most recent call last):\n  File "/srv/app/pages.py", line 9, in page'
PAGES = ["/", "/login", "/dashboard", "/playlists", "/downloads", "/settings"]
DOC = {
    "openapi": "3.1.0",
    "paths": {
        "/api/items": {"get": {}},
        "/api/items/{item_id}": {
            "get": {
                "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {}}]
            }
        },
        "/api/logout": {"get": {}},
    },
}


def _client() -> httpx.Client:
    # The weakness: the fifth page, and one reached only by a link, answer 500 with a trace.
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in ("/downloads", "/hidden"):
            return httpx.Response(500, html=f"<pre>{TRACE}</pre>")
        if path == "/settings":
            return httpx.Response(200, html='<a href="/hidden">more</a>')
        return httpx.Response(200, html="<p>ok</p>", headers={})

    return scoped_client(
        ScopeGuard(["127.0.0.0/8"]), base_url=BASE, transport=httpx.MockTransport(handler)
    )


def _judged(responses: list[Fetched]) -> set[str]:
    return {
        r.url.removeprefix(BASE)
        for r in responses
        for d in disclosures(r)
        if d.where == "body" and r.status >= 400
    }


def test_the_first_three_pages_miss_the_traceback_the_walk_finds_it() -> None:
    with _client() as client:
        sample = [fetch(client, "GET", p) for p in PAGES[:3]]
        assert _judged(sample) == set()  # how SEC-07 passed before
        sent: list[str] = []

        def send(method: str, path: str, **kwargs: Any) -> Fetched:
            sent.append(path)
            return fetch(client, method, path, **kwargs)

        walk = walk_reads(
            anonymous=client,
            user=client,
            base_url=BASE,
            pages=PAGES,
            send=send,
            ops=operations(DOC),
            ids={"item_id": 7},
            skip=lambda op: "logout" in op.path,
        )
    assert _judged(walk.responses) == {"/downloads", "/hidden"}
    assert sent == ["/api/items", "/api/items/7"]  # GET operations too, logout skipped
    assert walk.operations == 2 and walk.left_out == []
    assert walk.coverage().startswith("judged 13 pages and 2 of 2 GET operations (budget 60")


def test_the_budget_is_counted_and_reported() -> None:
    with _client() as client:
        walk = walk_reads(
            anonymous=client,
            user=client,
            base_url=BASE,
            pages=PAGES,
            send=lambda m, p, **k: fetch(client, m, p, **k),
            ops=operations(DOC),
            ids={},
            max_requests=6,
        )
    # Six anonymous page fetches spend the budget: the crawl still sees every profile page,
    # and the operations it left out are named.
    assert walk.left_out == ["GET /api/items", "GET /api/items/{item_id}", "GET /api/logout"]
    assert "0 of 3 GET operations" in walk.coverage()
    assert "3 left out for the budget" in walk.coverage()
