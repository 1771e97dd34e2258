"""Crawled pages -> operations of the shared model (``model.py``).

A server-rendered app has no OpenAPI document, but its forms and links say the same things:
an action and a method (the operation), named fields with types, constraints and hidden
values (the inputs), and links that carry query parameters (GET operations). Operations made
here are marked ``source="crawl"`` and keep the page their form came from, so a probe can
fetch a fresh CSRF token from it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.operations.model import Operation, Param
from harness.probes.crawl import (
    CrawlResult,
    Form,
    FormField,
    ends_session_or_destroys,
    origin_of,
    parse_page,
)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# Controls that submit no value a probe can set (or a file, which needs a multipart upload).
_NO_INPUT = {"submit", "button", "reset", "image", "file"}
_CSRF_NAMES = ("csrf", "xsrf", "authenticity_token", "__requestverificationtoken", "_token")


def is_csrf_field(field: FormField) -> bool:
    """A hidden field whose name says it carries an anti-CSRF token."""
    return field.type == "hidden" and any(n in field.name.lower() for n in _CSRF_NAMES)


def field_schema(field: FormField) -> dict[str, Any]:
    """The JSON schema the browser would enforce for one control."""
    c = field.constraints
    schema: dict[str, Any]
    if field.options:
        schema = {"type": "string", "enum": field.options}
    elif field.type == "checkbox":
        schema = {"type": "string", "enum": [field.value or "on"]}
    elif field.type in ("number", "range"):
        whole = "." not in c.get("step", "1") and c.get("step") != "any"
        schema = {"type": "integer" if whole else "number"}
        for key in ("min", "max"):
            if _is_number(c.get(key)):
                schema["minimum" if key == "min" else "maximum"] = float(c[key])
    else:
        schema = {"type": "string"}
        fmt = {"email": "email", "url": "uri", "date": "date"}.get(field.type)
        if fmt:
            schema["format"] = fmt
        if c.get("maxlength", "").isdigit():
            schema["maxLength"] = int(c["maxlength"])
        minimum = c.get("minlength", "1" if field.required else "")
        if minimum.isdigit():
            schema["minLength"] = int(minimum)
        if c.get("pattern"):
            schema["pattern"] = f"^(?:{c['pattern']})$"
    if field.value and field.type not in ("checkbox",):
        # Hidden values (CSRF tokens, ids) and prefilled text are what a browser would send.
        schema["default"] = field.value
    if field.type == "hidden":
        schema["x-hidden"] = True
    if is_csrf_field(field):
        schema["x-csrf-token"] = True
    return schema


def _is_number(value: str | None) -> bool:
    try:
        float(value or "")
    except ValueError:
        return False
    return True


def relative_path(url: str, base_url: str) -> str:
    """``url``'s path below ``base_url`` (the model's paths are relative to the target)."""
    path = urlsplit(url).path or "/"
    base_path = urlsplit(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :] or "/"
    return path


def from_form(form: Form, base_url: str) -> Operation | None:
    """One form as an operation; None for another origin's form, a dialog, or a form that
    logs out or deletes (probes would end their session or destroy what they test)."""
    if origin_of(form.action) != origin_of(base_url) or form.method not in ("GET", "POST"):
        return None
    if ends_session_or_destroys(form.action):
        return None
    fields = [f for f in form.fields if f.type not in _NO_INPUT]
    if form.method == "GET":
        params = [
            Param(name=f.name, location="query", schema=field_schema(f), required=True)
            for f in fields
        ]
        return Operation(
            method="GET",
            path=relative_path(form.action, base_url),
            params=params,
            source="crawl",
            page=form.page,
        )
    # A browser sends every successful control, so every field counts as required.
    body = {
        "type": "object",
        "properties": {f.name: field_schema(f) for f in fields},
        "required": [f.name for f in fields],
    }
    return Operation(
        method="POST",
        path=relative_path(form.action, base_url),
        body_schema=body,
        body_media_type=FORM_MEDIA_TYPE,
        body_required=True,
        source="crawl",
        page=form.page,
    )


def from_link(url: str, base_url: str) -> Operation | None:
    """A same-origin link with a query string as a GET operation (its values as examples)."""
    parts = urlsplit(url)
    if origin_of(url) != origin_of(base_url) or not parts.query:
        return None
    params = [
        Param(name=k, location="query", schema={"type": "string", "default": v}, required=True)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return Operation(method="GET", path=relative_path(url, base_url), params=params, source="crawl")


def operations(result: CrawlResult, base_url: str) -> list[Operation]:
    """Every form and query link of a crawl, one operation per METHOD + path (first wins)."""
    found: dict[str, Operation] = {}
    candidates = [from_form(f, base_url) for f in result.forms]
    candidates += [from_link(link, base_url) for link in result.links]
    for op in candidates:
        if op is not None and op.key not in found:
            found[op.key] = op
    return list(found.values())


def current_fields(op: Operation, page_url: str, html: str, base_url: str) -> dict[str, str]:
    """The hidden and prefilled values the form behind ``op`` has on a fresh copy of its page
    (a CSRF token is often per session or per page view, so the crawl's copy may be stale)."""
    _, forms, _ = parse_page(page_url, html)
    for form in forms:
        made = from_form(form, base_url)
        if made is not None and made.key == op.key:
            return {f.name: f.value for f in form.fields if f.value and f.type not in _NO_INPUT}
    return {}


def csrf_fields(op: Operation) -> list[str]:
    """Names of the body fields of ``op`` that carry an anti-CSRF token."""
    return [name for name, schema in op.body_fields().items() if schema.get("x-csrf-token")]
