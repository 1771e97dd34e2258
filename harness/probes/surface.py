"""One sample response of every class a target answers with: pages, API JSON, static files,
redirects, 401, 404, 405, 400/422 and (when one can be provoked without harm) 5xx.

Header and disclosure checks run over all of them, not just ``/`` (scanner-pitfalls.md).
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from pydantic import BaseModel, Field

from harness.operations import Operation, api_prefix, build_request, operations
from harness.probes.bounded import Fetched, fetch
from harness.probes.crawl import CrawlResult
from harness.safety import NeedsIntrusive


class Sample(BaseModel):
    cls: str  # response class, e.g. "page", "404"
    response: Fetched


class Surface(BaseModel):
    samples: list[Sample] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    # Requests the target did not answer (reset, timeout): observations, not samples.
    unanswered: list[Fetched] = Field(default_factory=list)
    # Requests the safety mode refused (request -> reason): the classes they would have shown.
    held: dict[str, str] = Field(default_factory=dict)

    def add(self, cls: str, response: Fetched) -> None:
        if response.status:
            self.samples.append(Sample(cls=cls, response=response))
        else:
            self.unanswered.append(response)

    def extend(self, other: Surface) -> None:
        self.samples.extend(other.samples)
        self.notes.extend(other.notes)
        self.unanswered.extend(other.unanswered)
        self.held.update(other.held)

    def classes(self) -> set[str]:
        return {s.cls for s in self.samples}


def classify(response: Fetched) -> str:
    status = response.status
    if 300 <= status < 400:
        return "redirect"
    if status >= 500:
        return "5xx"
    if status >= 400:
        return str(status)
    if response.content_type == "text/html":
        return "page"
    if "json" in response.content_type:
        return "api-json"
    return "static"


def from_crawl(surface: Surface, crawl: CrawlResult) -> None:
    for page in crawl.pages:
        surface.add(classify(page), page)
    for asset in crawl.assets:
        surface.add("static" if asset.status < 300 else classify(asset), asset)


def probe_errors(
    client: httpx.Client,
    document: dict[str, Any],
    *,
    write_headers: dict[str, str],
    me_path: str | None,
    anonymous: httpx.Client | None = None,
) -> Surface:
    """Provoke the error classes with harmless requests."""
    surface = Surface()
    missing = f"/harness-missing-{secrets.token_hex(4)}"
    surface.add("404", fetch(client, "GET", missing, total_s=5))
    ops = operations(document)
    api_missing = api_prefix(ops) + missing
    surface.add("404", fetch(client, "GET", api_missing, total_s=5))
    method_missing = _method_not_allowed(ops)
    if method_missing:
        method, path = method_missing
        try:
            surface.add("405", fetch(client, method, path, total_s=5, headers=write_headers))
        except NeedsIntrusive as refused:  # a write to provoke 405: held back in safe mode
            surface.held[refused.request] = refused.reason
            surface.notes.append(f"405 not provoked: {refused.reason}")
    else:
        surface.notes.append("no path without some method found for a 405")
    writer = next(
        (
            o
            for o in ops
            if o.method in ("POST", "PUT", "PATCH")
            and o.body_schema
            and not o.path_params
            and "login" not in o.path
            and "logout" not in o.path
        ),
        None,
    )
    if writer is not None:
        surface.add(
            "400/422 malformed JSON",
            fetch(
                client,
                writer.method,
                writer.path,
                total_s=5,
                headers={**write_headers, "Content-Type": "application/json"},
                content=b'{"a": ',
            ),
        )
        method, path, kwargs = build_request(writer, {})
        body = kwargs.get("json")
        if isinstance(body, dict) and body:
            first = next(iter(body))
            wrong = {**body, first: {"nested": [1, 2, 3]}}
            surface.add(
                "400/422 wrong type",
                fetch(client, method, path, total_s=5, headers=write_headers, json=wrong),
            )
    if me_path and anonymous is not None:
        surface.add("401", fetch(anonymous, "GET", me_path, total_s=5))
    return surface


def _method_not_allowed(ops: list[Operation]) -> tuple[str, str] | None:
    by_path: dict[str, set[str]] = {}
    for op in ops:
        if not op.path_params:
            by_path.setdefault(op.path, set()).add(op.method)
    for path, methods in by_path.items():
        for candidate in ("DELETE", "PUT", "PATCH", "POST"):
            if candidate not in methods and "logout" not in path:
                return candidate, path
    return None


def provoke_5xx(
    send: Any,
    document: dict[str, Any],
    ids: dict[str, Any],
    *,
    budget: int = 30,
    csrf_header: str | None = None,
    unanswered: list[Fetched] | None = None,
) -> list[Fetched]:
    """Harmless inputs that commonly crash unhardened handlers: NUL bytes, out-of-range ids.

    ``send(method, path, **kwargs)`` returns a Fetched. Returns every 5xx seen (maybe none);
    the requests the target did not answer (a worker that crashed drops the socket) are added
    to ``unanswered``.
    """
    found: list[Fetched] = []
    tries = 0
    for op in operations(document):
        if op.method == "DELETE" or "logout" in op.path or "login" in op.path:
            continue
        mutations: list[tuple[str, str, Any]] = []
        if csrf_header and op.method in ("POST", "PUT", "PATCH"):
            # A token compared as text (hmac.compare_digest on str) crashes on non-ASCII.
            mutations.append(("header", csrf_header, "tok\u00bf".encode("latin-1")))
        for param in op.path_params:
            if param.schema_.get("type") == "integer":
                mutations.append(("path", param.name, str(2**64)))
        for name, schema in op.body_fields().items():
            if schema.get("type") == "string" and not schema.get("enum"):
                mutations.append(("body", name, "nul\u0000byte"))
                # Longer than any column: a schema that forgot maxLength meets the database.
                mutations.append(("body", name, "L" * 20_000))
        for param in op.query_params:
            if param.schema_.get("type") == "string":
                mutations.append(("query", param.name, "nul\u0000byte"))
        for override in mutations:
            if tries >= budget:
                return found
            tries += 1
            if override[0] == "header":
                method, path, kwargs = build_request(op, ids)
                kwargs["headers"] = {override[1]: override[2]}
            else:
                method, path, kwargs = build_request(op, ids, override)
            response = send(method, path, **kwargs)
            if response.status == 0 and unanswered is not None:
                unanswered.append(response)
            if response.status >= 500:
                found.append(response)
                if len(found) >= 3:
                    return found
    return found
