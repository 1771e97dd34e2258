"""SEC-06: stored and reflected XSS payloads neither execute in Chromium nor come back raw."""

from __future__ import annotations

import json

import pytest

from harness.guard_browser import guarded_browser, third_party_finding
from harness.loopback import burst, source
from harness.operations import build_request, discover_ids, operations
from harness.probes.actor import Actor
from harness.probes.bounded import as_response, fetch
from harness.probes.browser import session_credential
from harness.probes.crawl import crawl
from harness.probes.xss import find_unescaped, load_and_watch, payloads

pytestmark = pytest.mark.stack

SOURCE = source(83)
REFLECT_PARAMS = ["q", "search", "query", "message", "error", "name"]
_SECRETISH = ("password", "secret", "token", "key")


def _store_payloads(actor, ops, ids, evidence):
    """Put a payload into every string field of create/update operations."""
    stored = []
    writers = [
        o
        for o in ops
        if o.method in ("POST", "PUT", "PATCH")
        and o.body_schema
        and "login" not in o.path
        and "logout" not in o.path
    ]
    for op in writers[:8]:
        for name, schema in op.body_fields().items():
            # A pattern is tried all the same: most patterns only exclude control characters.
            if (
                schema.get("type") != "string"
                or schema.get("enum")
                or any(s in name.lower() for s in _SECRETISH)
            ):
                continue
            made = payloads(max_length=schema.get("maxLength"))
            if not made:
                continue
            payload = made[len(stored) % len(made)]
            method, path, kwargs = build_request(op, ids, ("body", name, payload.value))
            response = actor.send(method, path, **kwargs)
            stored.append((payload, op.key, name, response.status))
            if 200 <= response.status < 300 and len(stored) <= 2:
                evidence.http(as_response(response), title=f"stored payload via {op.key} {name}")
    return stored


@pytest.mark.control("SEC-06")
def test_no_stored_or_reflected_xss(target, login, evidence):
    profile = target.profile
    ops = operations(target.openapi)
    actor = Actor(
        lambda: login(local_address=SOURCE),
        client_factory=lambda a: target.client(local_address=a),
        addresses=burst(83, 8),
    )
    # Safe mode stores nothing on the target: only the reflected part (GET) runs, and the
    # control cannot pass on that half alone (see the end of the test).
    stored = []
    if not target.safety.safe:
        ids = discover_ids(actor.send, ops)
        stored = _store_payloads(actor, ops, ids, evidence)
    accepted = [s for s in stored if 200 <= s[3] < 300]
    evidence.json(
        "stored payloads",
        [{"payload": p.value, "op": op, "field": f, "status": st} for p, op, f, st in stored],
    )
    all_payloads = [p for p, *_ in stored]

    # Reflected: each page and each GET form, with the payload in likely parameters.
    actor.relogin()
    reflected_urls = []
    pages = crawl(
        actor.session.client, target.base_url, profile.target.pages, max_pages=30, total_s=15
    )
    reflect_payload = payloads()[0]
    all_payloads.append(reflect_payload)
    for page in pages.html_pages()[:10]:
        for param in REFLECT_PARAMS[:3]:
            reflected_urls.append(
                f"{page.url.split('?')[0]}?{param}={_quote(reflect_payload.value)}"
            )
    for form in pages.forms:
        if form.method == "GET":
            query = "&".join(
                f"{f.name}={_quote(reflect_payload.value)}"
                for f in form.fields
                if f.type not in ("hidden", "submit")
            )
            if query:
                reflected_urls.append(f"{form.action.split('?')[0]}?{query}")

    # Escaping: every crawled page and every reflected URL, as the server sent it.
    actor.relogin()
    rendered = crawl(
        actor.session.client, target.base_url, profile.target.pages, max_pages=40, total_s=20
    )
    raw_hits = []
    marker_pages = []
    for page in rendered.html_pages():
        found = find_unescaped(page.body, page.url, all_payloads)
        if found:
            marker_pages.append(page.url)
        for reflection in found:
            if reflection.raw:
                raw_hits.append(reflection)
                evidence.http(as_response(page), title=f"unescaped payload on {page.url}")
    for url in dict.fromkeys(reflected_urls):
        response = fetch(actor.session.client, "GET", url, total_s=5)
        if response.content_type != "text/html":
            continue
        found = find_unescaped(response.body, url, [reflect_payload])
        if found:
            marker_pages.append(url)
        raw_hits.extend(r for r in found if r.raw)

    # Execution: load the pages that carry a payload in a real browser.
    executions = []
    actor.relogin()
    to_load = list(dict.fromkeys(marker_pages))[:8] or [
        target.url(p) for p in profile.target.pages[:2]
    ]
    with guarded_browser(target.guard) as browser:
        context = browser.new_context(*session_credential(actor.session, target.base_url))
        for url in to_load:
            executions.append(load_and_watch(context, url, screenshot=not executions))
    actor.close()
    # Requests the egress guard refused: recorded, never a reason for this control to fail.
    third_party = third_party_finding(browser.blocked, "SEC-06")
    if third_party is not None:
        evidence.finding(third_party)
        evidence.json("blocked by the egress guard", [b.model_dump() for b in browser.blocked])
    if executions and executions[0].screenshot:
        evidence.screenshot(executions[0].screenshot, f"Chromium: {executions[0].url}")
    evidence.json(
        "browser runs", [e.model_dump(mode="json", exclude={"screenshot"}) for e in executions]
    )
    evidence.json(
        "escaping",
        {
            "pages_checked": len(rendered.html_pages()),
            "reflected_urls": len(reflected_urls),
            "pages_with_payload": marker_pages,
            "raw": [r.model_dump() for r in raw_hits],
        },
    )
    ran = [e for e in executions if e.hits or e.dialogs]
    assert accepted or reflected_urls or target.safety.safe, (
        "no payload could be placed: no create/update operation took one and no page was "
        f"crawled (stored attempts: {json.dumps([(o, f, s) for _, o, f, s in stored])})"
    )
    assert not ran, "XSS payload executed in Chromium:\n" + "\n".join(
        f"{e.url}: binding calls {e.hits}, dialogs {e.dialogs}" for e in ran
    )
    assert not raw_hits, (
        "payload markup returned unescaped (it only did not run thanks to "
        "the CSP, if at all):\n" + "\n".join(f"{r.url}: {r.excerpt!r}" for r in raw_hits[:10])
    )
    target.safety.require_intrusive(
        f"stored payloads; the reflected part checked {len(reflected_urls)} URL(s) and "
        f"{len(rendered.html_pages())} page(s) and found nothing"
    )


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
