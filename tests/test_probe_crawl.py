"""Unit tests for harness.probes.crawl and harness.probes.sri."""

from __future__ import annotations

import httpx

from harness.probes.crawl import crawl, parse_page
from harness.probes.sri import check_resources
from harness.scope import ScopeGuard, scoped_client

BASE = "https://127.0.0.1:8443"
PAGES = {
    "/": '<a href="/a">a</a><a href="https://other.test/x">x</a><a href="/logout">out</a>'
    '<script src="/static/app.js"></script>'
    '<script src="https://cdn.example.test/lib.js"></script>'
    '<link rel="stylesheet" href="https://cdn.example.test/x.css" '
    'integrity="sha384-AAAA" crossorigin="anonymous">',
    "/a": '<form method="post" action="/save"><input name="csrf_token" type="hidden" value="t">'
    '<input name="name"></form><a href="/b">b</a>',
    "/b": "<p>leaf</p>",
}


def _client(seen: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path in PAGES:
            return httpx.Response(200, html=PAGES[request.url.path])
        return httpx.Response(200, text="js", headers={"content-type": "text/javascript"})

    return scoped_client(
        ScopeGuard(["127.0.0.0/8"]), base_url=BASE, transport=httpx.MockTransport(handler)
    )


def test_crawl_follows_same_origin_links_only_and_skips_logout():
    seen: list[str] = []
    with _client(seen) as client:
        result = crawl(client, BASE, ["/"])
    assert [p.url for p in result.pages] == [f"{BASE}/", f"{BASE}/a", f"{BASE}/b"]
    assert "/logout" not in seen
    assert [a.url for a in result.assets] == [f"{BASE}/static/app.js"]
    assert result.forms[0].method == "POST" and result.forms[0].action == f"{BASE}/save"
    assert {f.name for f in result.forms[0].fields} == {"csrf_token", "name"}


def test_crawl_is_bounded_by_page_count():
    with _client([]) as client:
        result = crawl(client, BASE, ["/"], max_pages=1)
    assert len(result.pages) == 1 and result.stopped_early


def test_sri_flags_cross_origin_script_without_integrity_only():
    _, _, resources = parse_page(f"{BASE}/", PAGES["/"])
    issues = check_resources(resources)
    assert [(i.url, i.problem) for i in issues] == [
        ("https://cdn.example.test/lib.js", "cross-origin resource without integrity")
    ]


def test_sri_rejects_a_malformed_digest():
    html = '<script src="https://cdn.test/a.js" integrity="md5-xyz" crossorigin></script>'
    _, _, resources = parse_page(f"{BASE}/", html)
    assert "no valid" in check_resources(resources)[0].problem
