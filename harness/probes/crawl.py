"""A small, bounded same-origin crawler.

Starts from the profile's pages, follows same-origin links (GET only), records the forms it
sees without submitting them, and lists the static assets and the cross-origin resources each
page references. Bounded by page count and total time, so a target with thousands of pages or
a streaming route still finishes inside the suite's budget.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, Field

from harness.probes.bounded import Fetched, fetch
from harness.safety import Excluded

# Following these links would end the session the crawl runs with, or change state.
_SKIP_LINK = re.compile(r"log-?out|sign-?out|delete|remove|revoke", re.IGNORECASE)


def ends_session_or_destroys(url: str) -> bool:
    """A link or form action a probe must not call: logging out, deleting, revoking."""
    return _SKIP_LINK.search(url) is not None


class FormField(BaseModel):
    name: str
    type: str = "text"
    value: str = ""
    required: bool = False
    # The HTML constraints the browser enforces (maxlength, minlength, pattern, min, max, step).
    constraints: dict[str, str] = Field(default_factory=dict)
    options: list[str] = Field(default_factory=list, description="a select's option values")


class Form(BaseModel):
    page: str
    action: str
    method: str
    fields: list[FormField] = Field(default_factory=list)


class Resource(BaseModel):
    """A script or stylesheet a page loads."""

    page: str
    tag: str  # "script" or "link"
    url: str
    integrity: str | None = None
    crossorigin: str | None = None
    same_origin: bool = True


class CrawlResult(BaseModel):
    pages: list[Fetched] = Field(default_factory=list)
    assets: list[Fetched] = Field(default_factory=list)
    forms: list[Form] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    stopped_early: str | None = None
    # Links in scope.exclude: the profile said never to call them, so the crawl leaves them out.
    excluded: list[str] = Field(default_factory=list)

    def html_pages(self) -> list[Fetched]:
        return [p for p in self.pages if p.content_type == "text/html" and p.status == 200]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_page(page_url: str, html: str) -> tuple[list[str], list[Form], list[Resource]]:
    """Links, forms and scripts/stylesheets of one HTML page (absolute URLs)."""
    soup = BeautifulSoup(html, "html.parser")
    origin = origin_of(page_url)
    links: list[str] = []
    for tag in soup.find_all("a", href=True):
        href = str(tag["href"]).strip()
        if href.startswith(("javascript:", "mailto:", "tel:", "data:")):
            continue
        links.append(urldefrag(urljoin(page_url, href))[0])
    forms: list[Form] = []
    for tag in soup.find_all("form"):
        action = urljoin(page_url, str(tag.get("action") or page_url))
        fields = [_field(field) for field in tag.find_all(["input", "textarea", "select"])]
        forms.append(
            Form(
                page=page_url,
                action=action,
                method=str(tag.get("method") or "get").upper(),
                fields=[f for f in fields if f is not None],
            )
        )
    resources: list[Resource] = []
    for tag in soup.find_all("script", src=True):
        resources.append(_resource(page_url, origin, "script", str(tag["src"]), tag))
    for tag in soup.find_all("link", href=True):
        rel = [str(r).lower() for r in (tag.get("rel") or [])]
        if "stylesheet" in rel or ("preload" in rel and tag.get("as") in ("script", "style")):
            resources.append(_resource(page_url, origin, "link", str(tag["href"]), tag))
    return links, forms, resources


_CONSTRAINTS = ("maxlength", "minlength", "pattern", "min", "max", "step")


def _field(tag: Tag) -> FormField | None:
    """One named form control with the constraints the browser would enforce."""
    if not tag.get("name"):
        return None
    options = [
        str(o.get("value") if o.get("value") is not None else o.get_text())
        for o in tag.find_all("option")
    ]
    value = tag.get("value")
    if value is None and tag.name == "textarea":
        value = tag.get_text()
    return FormField(
        name=str(tag.get("name")),
        type=str(tag.get("type") or tag.name or "text").lower(),
        value=str(value or ""),
        required=tag.has_attr("required"),
        constraints={k: str(tag.get(k)) for k in _CONSTRAINTS if tag.get(k) is not None},
        options=options,
    )


def _resource(page_url: str, origin: str, kind: str, ref: str, tag: object) -> Resource:
    url = urljoin(page_url, ref)
    get = getattr(tag, "get", lambda _name: None)
    integrity = get("integrity")
    crossorigin = get("crossorigin")
    return Resource(
        page=page_url,
        tag=kind,
        url=url,
        integrity=str(integrity) if integrity else None,
        crossorigin=str(crossorigin) if crossorigin is not None else None,
        same_origin=origin_of(url) == origin,
    )


def crawl(
    client: httpx.Client,
    base_url: str,
    start_paths: list[str],
    *,
    max_pages: int = 40,
    max_assets: int = 20,
    total_s: float = 30.0,
    per_request_s: float = 5.0,
) -> CrawlResult:
    """Breadth-first over same-origin GET links from ``start_paths``; assets fetched once."""
    deadline = time.monotonic() + total_s
    origin = origin_of(base_url)
    queue = [
        urljoin(base_url + "/", p.lstrip("/")) if not p.startswith("http") else p
        for p in start_paths
    ]
    seen: set[str] = set()
    result = CrawlResult()
    asset_urls: list[str] = []
    while queue:
        if len(result.pages) >= max_pages:
            result.stopped_early = f"page limit {max_pages} reached"
            break
        if time.monotonic() > deadline:
            result.stopped_early = f"time limit {total_s:.0f}s reached"
            break
        url = queue.pop(0)
        if url in seen or origin_of(url) != origin or _SKIP_LINK.search(url):
            continue
        seen.add(url)
        try:
            page = fetch(
                client, "GET", url, total_s=min(per_request_s, deadline - time.monotonic())
            )
        except Excluded:
            result.excluded.append(url)
            continue
        result.pages.append(page)
        if page.content_type != "text/html" or not page.body:
            continue
        links, forms, resources = parse_page(page.url, page.body)
        result.forms.extend(forms)
        result.resources.extend(resources)
        for link in links:
            if link not in result.links:
                result.links.append(link)
            if origin_of(link) == origin and link not in seen:
                queue.append(link)
        for resource in resources:
            if resource.same_origin and resource.url not in asset_urls:
                asset_urls.append(resource.url)
    for url in asset_urls[:max_assets]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.stopped_early = result.stopped_early or "time limit reached before assets"
            break
        try:
            result.assets.append(fetch(client, "GET", url, total_s=min(per_request_s, remaining)))
        except Excluded:
            result.excluded.append(url)
    return result
