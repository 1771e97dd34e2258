"""Compression: compressible responses above a minimum size must be gzip-encoded on request.

Each URL is fetched twice: once without compression to learn its real size and type, once with
``Accept-Encoding: gzip``. Only compressible types (text, JSON, JavaScript, CSS, SVG, XML) of at
least ``min_bytes`` must come back as ``Content-Encoding: gzip`` with ``Vary: Accept-Encoding``
(a cache that ignores Vary would serve gzip to clients that cannot read it). Smaller responses
may stay plain. The gzip body is decompressed and compared with the plain one, so an encoding
header on a body that is not really gzip fails too.

A streaming response (an event stream) has no whole body to compare: it is not read and not
judged, and ``skipped`` says so. A request the target does not answer (a reset, a timeout) is
recorded in ``error`` with what happened, and the next URL is checked.
"""

from __future__ import annotations

import gzip
import time
import zlib

import httpx
from pydantic import BaseModel, Field

from harness.probes.bounded import STREAMING_TYPES, failure_kind

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/problem+json",
    "image/svg+xml",
    "application/x-javascript",
    "application/ld+json",
    "application/manifest+json",
)
_MAX_BYTES = 4_000_000


class GzipCheck(BaseModel):
    url: str
    status: int = 0
    content_type: str = ""
    plain_bytes: int = 0
    encoding: str | None = None
    vary: str | None = None
    wire_bytes: int = 0
    applies: bool = False
    problems: list[str] = Field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why this response is not judged (a stream)

    @property
    def failure(self) -> str | None:
        """What happened to an unanswered request ("reset by the target"), None if answered."""
        return failure_kind(self.error) if self.error else None

    @property
    def ok(self) -> bool:
        return not self.problems and self.error is None


def compressible(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind.startswith(COMPRESSIBLE) or kind.endswith(("+json", "+xml"))


def _raw(
    client: httpx.Client, url: str, accept: str, total_s: float
) -> tuple[httpx.Response, bytes]:
    """The response and its body bytes exactly as sent (no decoding), bounded in time/size."""
    deadline = time.monotonic() + total_s
    with client.stream(
        "GET", url, headers={"Accept-Encoding": accept}, timeout=httpx.Timeout(total_s)
    ) as response:
        chunks: list[bytes] = []
        size = 0
        if streaming(response.headers.get("content-type", "")):
            return response, b""  # never ends by itself: not read (see check)
        for chunk in response.iter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size > _MAX_BYTES or time.monotonic() > deadline:
                break
        return response, b"".join(chunks)


def streaming(content_type: str) -> bool:
    return content_type.strip().lower().startswith(STREAMING_TYPES)


def _vary_has(vary: str | None, name: str) -> bool:
    return bool(vary) and any(
        part.strip().lower() in (name.lower(), "*") for part in (vary or "").split(",")
    )


def check(client: httpx.Client, url: str, min_bytes: int, total_s: float = 10.0) -> GzipCheck:
    result = GzipCheck(url=url)
    try:
        plain, plain_body = _raw(client, url, "identity", total_s)
        result.status = plain.status_code
        result.content_type = plain.headers.get("content-type", "")
        if streaming(result.content_type):
            result.skipped = (
                f"a streaming response ({result.content_type.split(';')[0]}): it has no whole "
                "body to compare, so its compression is not judged"
            )
            return result
        # Some servers ignore identity and compress anyway; decode to learn the real size.
        if plain.headers.get("content-encoding", "").lower() == "gzip":
            plain_body = gzip.decompress(plain_body)
        result.plain_bytes = len(plain_body)
        zipped, zipped_body = _raw(client, url, "gzip", total_s)
    except (httpx.HTTPError, OSError, EOFError, zlib.error) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.encoding = zipped.headers.get("content-encoding")
    result.vary = zipped.headers.get("vary")
    result.wire_bytes = len(zipped_body)
    result.applies = (
        plain.status_code == 200
        and compressible(result.content_type)
        and result.plain_bytes >= min_bytes
    )
    if not result.applies:
        return result
    if (result.encoding or "").lower() != "gzip":
        result.problems.append(
            f"GET {url} ({result.content_type}, {result.plain_bytes} bytes) with "
            f"Accept-Encoding: gzip came back with Content-Encoding {result.encoding!r}"
        )
        return result
    if not _vary_has(result.vary, "Accept-Encoding"):
        result.problems.append(
            f"GET {url}: gzip response without Vary: Accept-Encoding (Vary: {result.vary!r})"
        )
    try:
        inflated = gzip.decompress(zipped_body)
    except (OSError, EOFError, zlib.error) as exc:
        result.problems.append(f"GET {url}: Content-Encoding gzip but the body is not gzip: {exc}")
        return result
    if abs(len(inflated) - result.plain_bytes) > max(64, result.plain_bytes // 10):
        # Dynamic pages differ a little between two fetches (tokens, times); a large difference
        # means the encoded body is not the same document.
        result.problems.append(
            f"GET {url}: the gzip body inflates to {len(inflated)} bytes, "
            f"the plain body has {result.plain_bytes}"
        )
    return result
