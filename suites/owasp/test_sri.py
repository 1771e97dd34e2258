"""SEC-16: cross-origin scripts and stylesheets on crawled pages carry Subresource Integrity."""

from __future__ import annotations

import pytest

from harness.probes.bounded import as_response
from harness.probes.crawl import crawl
from harness.probes.sri import check_resources

pytestmark = pytest.mark.stack


@pytest.mark.control("SEC-16")
def test_third_party_resources_carry_sri(target, login, evidence):
    pages = target.profile.target.pages
    # Anonymous first, then as the logged-in user below: both page sets are checked.
    with target.client() as anonymous:
        anon = crawl(anonymous, target.base_url, pages, max_pages=20, total_s=10, max_assets=0)
    session = login()
    user = crawl(session.client, target.base_url, pages, max_pages=30, total_s=15, max_assets=0)
    html = anon.html_pages() + user.html_pages()
    resources = anon.resources + user.resources
    issues = check_resources(resources)
    unique = {(i.page, i.url): i for i in issues}
    evidence.json(
        "resources",
        {
            "pages": sorted({p.url for p in html}),
            "cross_origin": [r.model_dump() for r in resources if not r.same_origin],
            "same_origin": sorted({r.url for r in resources if r.same_origin}),
        },
    )
    for issue in list(unique.values())[:3]:
        page = next((p for p in html if p.url == issue.page), None)
        if page is not None:
            evidence.http(as_response(page), title=f"page loading {issue.url} without SRI")
    if not issues and html:
        evidence.http(as_response(html[0]), title="a crawled page")
    assert html, "no HTML page could be crawled to check"
    assert not unique, "third-party resources without Subresource Integrity:\n" + "\n".join(
        i.describe() for i in unique.values()
    )
