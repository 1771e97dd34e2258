"""XSS: payloads that call back into the harness when they run, and an escaping check.

The claim is "must not execute AND must be escaped": a page that prints markup raw but is
saved by its CSP still fails (the CSP is a second line, not the fix), so both are checked:

* execution: the page is loaded in Chromium with a binding ``window.__xss_hit(id)`` and a
  dialog listener; any call or dialog is a hit;
* escaping: the payload's markup must not appear verbatim in the HTML the server sent.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from pydantic import BaseModel, Field

BINDING = "__xss_hit"


class Payload(BaseModel):
    id: str
    value: str
    markup: str  # the part that must never appear unescaped

    @property
    def marker(self) -> str:
        return f"xss{self.id}"


def payloads(max_length: int | None = None) -> list[Payload]:
    """A few contexts: element body, attribute break-out, script-less handlers."""
    made: list[Payload] = []
    templates = [
        ("<img src=x onerror={call}>", "<img src=x onerror="),
        ('"><svg onload={call}>', "<svg onload="),
        ("<script>{call}</script>", "<script>"),
        ("'><details open ontoggle={call}>", "<details open ontoggle="),
    ]
    for template, markup in templates:
        pid = secrets.token_hex(4)
        call = f"window.{BINDING}('{pid}');alert('{pid}')"
        value = f"xss{pid}" + template.format(call=call)
        if max_length is not None and len(value) > max_length:
            short = f"xss{pid}" + template.format(call=f"{BINDING}('{pid}')")
            if len(short) > max_length:
                continue
            value = short
        made.append(Payload(id=pid, value=value, markup=markup))
    return made


class Reflection(BaseModel):
    url: str
    payload_id: str
    raw: bool  # the markup was found verbatim in the HTML
    excerpt: str = ""


def find_unescaped(html: str, url: str, payloads_: list[Payload]) -> list[Reflection]:
    out: list[Reflection] = []
    for payload in payloads_:
        if payload.marker not in html:
            continue
        index = html.find(payload.marker)
        window = html[index : index + len(payload.value) + 40]
        # The markup (tag start + handler) must come out escaped (&lt; ...) wherever it lands.
        raw = any(
            payload.markup in html[i : i + len(payload.value) + 40]
            for i in _positions(html, payload.marker)
        )
        out.append(Reflection(url=url, payload_id=payload.id, raw=raw, excerpt=window[:200]))
    return out


class Execution(BaseModel):
    url: str
    hits: list[str] = Field(default_factory=list)
    dialogs: list[str] = Field(default_factory=list)
    console: list[str] = Field(default_factory=list)
    screenshot: bytes | None = None
    error: str | None = None


def load_and_watch(
    context: Any, url: str, *, wait_s: float = 1.0, screenshot: bool = False
) -> Execution:
    """Open ``url``; record every call of the binding and every dialog."""
    result = Execution(url=url)
    page = context.new_page()
    try:
        page.expose_binding(BINDING, lambda _source, pid: result.hits.append(str(pid)))

        def on_dialog(dialog: Any) -> None:
            result.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda msg: result.console.append(f"{msg.type}: {msg.text}"[:300]))
        try:
            page.goto(url, wait_until="load", timeout=10_000)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                page.wait_for_timeout(100)  # lets handlers (onerror, ontoggle) fire
            if screenshot:
                result.screenshot = page.screenshot(full_page=False)
        except Exception as exc:  # noqa: BLE001 - a page that fails to load is recorded
            result.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        page.close()
    return result


def _positions(text: str, needle: str) -> list[int]:
    found: list[int] = []
    start = text.find(needle)
    while start != -1 and len(found) < 50:
        found.append(start)
        start = text.find(needle, start + 1)
    return found
