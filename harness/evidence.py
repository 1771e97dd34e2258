"""The ``evidence`` fixture's object: what a control test attaches to its verdict.

Each call writes one file under ``<run>/evidence/<control>/<test>/NN-title.ext`` right away,
redacted, and records a reference in the test item's ``user_properties``. The reference, not
the content, travels with the test report, which is how evidence survives pytest-xdist: workers
write the files, the controller only sees the reports. Findings and figures travel the same way.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from harness.findings import Finding
from harness.redact import Redactor

# user_properties keys; the plugin reads them back from the reports.
PROP_CONTROLS = "harness.controls"
PROP_EVIDENCE = "harness.evidence"
PROP_FINDING = "harness.finding"
PROP_FIGURE = "harness.figure"
PROP_VERDICT = "harness.verdict"

BODY_EXCERPT_BYTES = 4096
TEXT_EXTENSIONS = frozenset({".txt", ".log", ".json", ".http", ".md", ".csv", ".xml", ".html"})
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class EvidenceError(Exception):
    """The test misused the evidence API (a harness-internal error: the control is ``error``)."""


def slug(text: str, limit: int = 60) -> str:
    cleaned = _SLUG.sub("-", text).strip("-.") or "item"
    return cleaned[:limit].rstrip("-.")


def node_slug(nodeid: str) -> str:
    """``suites/owasp/test_x.py::Test::test_y[a]`` -> ``test_x-Test-test_y-a`` (unique enough)."""
    path, _, rest = nodeid.partition("::")
    stem = Path(path).stem
    return slug(f"{stem}-{rest}".replace("::", "-"), limit=100)


class Evidence:
    """Collects evidence for one test; created by the ``evidence`` fixture."""

    def __init__(
        self,
        *,
        nodeid: str,
        controls: list[str],
        out_dir: Callable[[], Path],
        redactor: Redactor,
        properties: list[tuple[str, object]],
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.controls = controls
        self._out_dir = out_dir
        self._redactor = redactor
        self._properties = properties
        self._on_secret = on_secret
        self._count = 0

    # -- public API ----------------------------------------------------------------------------
    def secret(self, value: str) -> None:
        """Register a value to redact from every evidence file, report and results.json."""
        self._redactor.register(value)
        if self._on_secret is not None:
            self._on_secret(value)

    def http(self, response: httpx.Response, title: str | None = None) -> Path:
        """A request/response pair: method, URL, headers, body excerpts (~4 KB), status."""
        request = response.request
        title = title or f"{request.method} {request.url.path} -> {response.status_code}"
        lines = [f"{request.method} {request.url} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self._redactor.headers(request.headers.multi_items())]
        lines += ["", _excerpt(_request_body(request)), ""]
        lines.append(f"{response.http_version} {response.status_code} {response.reason_phrase}")
        lines += [f"{k}: {v}" for k, v in self._redactor.headers(response.headers.multi_items())]
        lines += ["", _excerpt(_response_body(response))]
        return self._write("http", title, ".http", self._redactor.text("\n".join(lines)))

    def log(self, lines: list[str], title: str) -> Path:
        return self._write("log", title, ".log", self._redactor.text("\n".join(lines) + "\n"))

    def text(self, title: str, body: str) -> Path:
        return self._write("text", title, ".txt", self._redactor.text(body))

    def json(self, title: str, data: Any) -> Path:
        try:
            redacted = self._redactor.data(data)
            body = json.dumps(redacted, indent=2, ensure_ascii=False, default=str)
        except (TypeError, ValueError) as exc:
            raise EvidenceError(f"evidence.json({title!r}): not JSON-serialisable: {exc}") from exc
        return self._write("json", title, ".json", self._redactor.text(body) + "\n")

    def file(self, path: str | Path, title: str | None = None) -> Path:
        """Copy a file; text files are redacted, binary files are copied as they are."""
        source = Path(path)
        if not source.is_file():
            raise EvidenceError(f"evidence.file: {source} is not a file")
        title = title or source.name
        suffix = source.suffix.lower() or ".bin"
        if suffix in TEXT_EXTENSIONS:
            content = source.read_text(encoding="utf-8", errors="replace")
            return self._write("file", title, suffix, self._redactor.text(content))
        target = self._target(title, suffix)
        shutil.copyfile(source, target)
        return self._record("file", title, target)

    def screenshot(self, png: bytes, title: str) -> Path:
        # Only PNG: the report inlines screenshots as data: URIs and its CSP allows images only.
        if not png.startswith(_PNG_MAGIC):
            raise EvidenceError(f"evidence.screenshot({title!r}): not a PNG image")
        target = self._target(title, ".png")
        target.write_bytes(png)
        return self._record("screenshot", title, target)

    def figure(self, name: str, value: float, unit: str) -> None:
        """A number for the report's charts (latency, throughput, time to recover)."""
        self._properties.append(
            (
                PROP_FIGURE,
                {
                    "control": self.controls[0] if self.controls else None,
                    "test": self.nodeid,
                    "name": name,
                    "value": float(value),
                    "unit": unit,
                },
            )
        )

    def finding(self, finding: Finding) -> None:
        """A problem found; it lands in results.json ``findings`` (and the SARIF report)."""
        if finding.control is None and self.controls:
            finding = finding.model_copy(update={"control": self.controls[0]})
        data = finding.model_dump(mode="json")
        for key in ("evidence", "description", "url", "parameter", "title"):
            if isinstance(data.get(key), str):
                data[key] = self._redactor.text(data[key])
        self._properties.append((PROP_FINDING, data))

    # -- internals -----------------------------------------------------------------------------
    def _target(self, title: str, suffix: str) -> Path:
        self._count += 1
        control = self.controls[0] if self.controls else "no-control"
        folder = self._out_dir() / "evidence" / slug(control) / node_slug(self.nodeid)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{self._count:02d}-{slug(title)}{suffix}"

    def _write(self, kind: str, title: str, suffix: str, content: str) -> Path:
        target = self._target(title, suffix)
        target.write_text(content, encoding="utf-8")
        return self._record(kind, title, target)

    def _record(self, kind: str, title: str, target: Path) -> Path:
        relative = target.relative_to(self._out_dir()).as_posix()
        self._properties.append(
            (
                PROP_EVIDENCE,
                {
                    "kind": kind,
                    "title": self._redactor.text(title),
                    "path": relative,
                    "controls": list(self.controls),
                    "test": self.nodeid,
                },
            )
        )
        return target


def _excerpt(body: bytes) -> str:
    if not body:
        return ""
    text = body[:BODY_EXCERPT_BYTES].decode("utf-8", errors="replace")
    if len(body) > BODY_EXCERPT_BYTES:
        text += f"\n… [{len(body) - BODY_EXCERPT_BYTES} more bytes not shown]"
    if _looks_binary(body[:BODY_EXCERPT_BYTES]):
        return (
            f"[binary body, {len(body)} bytes, base64 excerpt]\n"
            + base64.b64encode(body[:512]).decode()
        )
    return text


def _looks_binary(chunk: bytes) -> bool:
    return b"\x00" in chunk


def _request_body(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:
        return b"[streamed request body not captured]"


def _response_body(response: httpx.Response) -> bytes:
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b"[streamed response body not read]"
