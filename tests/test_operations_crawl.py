"""The operation model from crawled HTML pages, and the document-or-crawl discovery."""

from __future__ import annotations

import pytest

from harness.operations import points, request_for
from harness.operations.crawl import FORM_MEDIA_TYPE, csrf_fields, current_fields, operations
from harness.operations.discovery import discover
from harness.probes.crawl import CrawlResult, parse_page
from harness.profile import Profile
from harness.target import Target
from harness.verdicts import NotApplicable

BASE = "https://127.0.0.1:8443"
LOGIN = (
    '<form method="post" action="/login"><input type="hidden" name="csrf_token" value="t1">'
    '<input name="username" required><input type="password" name="password" required>'
    '<button type="submit">go</button></form>'
)
ITEMS = (
    '<form action="/search"><input name="q" maxlength="20"></form>'
    '<a href="/items?page=2&sort=name">next</a><a href="https://other.test/x?y=1">x</a>'
    '<form method="post" action="/items"><input type="hidden" name="csrf_token" value="t2">'
    '<input name="title" required minlength="3" maxlength="40">'
    '<input type="number" name="qty" min="1" max="9">'
    '<select name="kind"><option value="book">Book</option><option>cd</option></select>'
    '<input type="checkbox" name="gift" value="yes"><textarea name="note"></textarea>'
    '<input type="file" name="cover"></form>'
    '<form method="post" action="/items/3/delete"><button>x</button></form>'
    '<form method="post" action="/logout"><button>out</button></form>'
)


def _crawl(*pages: tuple[str, str]) -> CrawlResult:
    result = CrawlResult()
    for path, html in pages:
        links, forms, _ = parse_page(BASE + path, html)
        result.forms.extend(forms)
        result.links.extend(links)
    return result


def test_forms_and_query_links_become_operations() -> None:
    ops = {op.key: op for op in operations(_crawl(("/login", LOGIN), ("/", ITEMS)), BASE)}
    assert set(ops) == {"POST /login", "GET /search", "GET /items", "POST /items"}
    assert all(op.source == "crawl" for op in ops.values())
    search = ops["GET /search"]
    assert [(p.name, p.location, p.schema_["maxLength"]) for p in search.params] == [
        ("q", "query", 20)
    ]
    assert {p.name: p.schema_["default"] for p in ops["GET /items"].params} == {
        "page": "2",
        "sort": "name",
    }
    create = ops["POST /items"]
    assert create.page == BASE + "/" and create.body_media_type == FORM_MEDIA_TYPE
    fields = create.body_fields()
    assert set(fields) == {"csrf_token", "title", "qty", "kind", "gift", "note"}  # no file
    assert fields["title"] == {"type": "string", "maxLength": 40, "minLength": 3}
    assert fields["qty"] == {"type": "integer", "minimum": 1.0, "maximum": 9.0}
    assert fields["kind"]["enum"] == ["book", "cd"]
    assert csrf_fields(create) == ["csrf_token"]


def test_form_requests_are_valid_and_keep_the_token() -> None:
    create = next(op for op in operations(_crawl(("/", ITEMS)), BASE) if op.method == "POST")
    spec = request_for(create)
    assert spec.form is not None and not spec.has_body
    assert spec.form["csrf_token"] == "t2" and spec.form["kind"] == "book"
    assert 3 <= len(spec.form["title"]) <= 40 and 1 <= spec.form["qty"] <= 9
    method, path, kwargs = spec.call()
    assert (method, path, set(kwargs)) == ("POST", "/items", {"data"})
    # Probes put payloads into data fields, never into the token.
    assert "csrf_token" not in {p.name for p in points([create])}
    fresh = ITEMS.replace('value="t2"', 'value="t3"')
    assert current_fields(create, BASE + "/", fresh, BASE)["csrf_token"] == "t3"


def test_paths_are_relative_to_a_base_with_a_folder() -> None:
    base = BASE + "/app"
    page = '<form method="post" action="/app/items"><input name="x"></form>'
    ops = operations(_crawl(("/app/", page)), base)
    assert [op.key for op in ops] == ["POST /items"]


def _no_document() -> dict:
    raise NotApplicable("the target serves no OpenAPI document (target.openapi_path = false)")


def test_discovery_prefers_the_document() -> None:
    doc = {"openapi": "3.1.0", "paths": {"/x": {"get": {}}}}
    found = discover(lambda: doc, lambda pages, seconds: CrawlResult(), BASE)
    assert found.source == "openapi" and [o.key for o in found.operations] == ["GET /x"]
    found.require_document()


def test_discovery_falls_back_to_the_crawl_with_its_budget() -> None:
    seen: list[tuple[int, float]] = []

    def crawl(pages: int, seconds: float) -> CrawlResult:
        seen.append((pages, seconds))
        return _crawl(("/", ITEMS))

    found = discover(_no_document, crawl, BASE)
    assert found.source == "crawl" and len(found.operations) == 3 and seen
    assert "target.openapi_path = false" in found.note and "at most" in found.note
    with pytest.raises(NotApplicable, match="serves no OpenAPI document"):
        found.require_document()


def test_nothing_found_is_not_applicable_with_both_reasons() -> None:
    with pytest.raises(NotApplicable, match="no OpenAPI document.*no form or query link"):
        discover(_no_document, lambda pages, seconds: _crawl(("/", "<p>hi</p>")), BASE)


def test_openapi_path_false_says_the_target_has_no_document() -> None:
    profile = Profile.model_validate(
        {"name": "x", "target": {"base_url": BASE, "openapi_path": False}}
    )
    assert profile.target.openapi_path is None
    with pytest.raises(NotApplicable, match=r"target.openapi_path = false"):
        _ = Target(profile).openapi


def test_a_document_the_loader_rejects_falls_back_to_the_crawl() -> None:
    def crawl(pages: int, seconds: float) -> CrawlResult:
        return _crawl(("/", '<form method="get" action="/search"><input name="q"></form>'))

    found = discover(lambda: {"openapi": "3.0.0", "paths": [1]}, crawl, BASE)
    assert found.source == "crawl" and [o.key for o in found.operations] == ["GET /search"]
    assert found.no_document and "could not be loaded" in found.no_document
    with pytest.raises(NotApplicable, match="could not be loaded"):
        discover(
            lambda: {"openapi": "3.0.0", "paths": [1]},
            lambda pages, seconds: _crawl(("/", "<p>hi</p>")),
            BASE,
        )
