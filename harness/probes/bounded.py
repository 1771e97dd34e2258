"""HTTP requests bounded by total time and body size.

httpx timeouts are per network operation: a streaming endpoint that sends a byte every few
seconds never trips them (see scanner-pitfalls.md). Every probe that reads bodies it did not
choose (crawls, fuzzing) goes through :func:`fetch`, which stops reading at a deadline and a
size cap and says so in the result instead of hanging. A streaming response (an event stream)
is never read: its headers are kept, its body is empty and ``streaming`` says why.

A request the target did not answer (a connection reset, a timeout, a malformed response) is
a ``Fetched`` with status 0 and the error: an observation to record (:func:`unanswered_summary`),
never a pass and never an exception.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx
from pydantic import BaseModel, Field

STREAMING_TYPES = ("text/event-stream", "multipart/x-mixed-replace", "application/x-ndjson")


class Fetched(BaseModel):
    """One request/response pair, headers lower-cased, body possibly cut short."""

    method: str
    url: str
    status: int
    headers: dict[str, str]
    header_list: list[tuple[str, str]] = Field(default_factory=list)
    body: str = ""
    truncated: bool = False
    elapsed_s: float = 0.0
    error: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def streaming(self) -> bool:
        """A stream that never ends by itself: its body was not read (checks need a whole one)."""
        return self.content_type.startswith(STREAMING_TYPES)

    @property
    def answered(self) -> bool:
        return self.status != 0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def fetch(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    total_s: float = 10.0,
    max_bytes: int = 512_000,
    **kwargs: Any,
) -> Fetched:
    """Send one request; never spend more than ``total_s`` nor read more than ``max_bytes``."""
    started = time.monotonic()
    deadline = started + total_s
    kwargs.setdefault("timeout", httpx.Timeout(total_s))
    try:
        with client.stream(method, url, **kwargs) as response:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            kind = response.headers.get("content-type", "").strip().lower()
            # A streaming type is not read at all: it never ends by itself, and its first
            # event may be seconds away (reading streams cost most of a run's time).
            streaming = kind.startswith(STREAMING_TYPES)
            truncated = streaming
            for chunk in [] if streaming else response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= max_bytes or time.monotonic() > deadline:
                    truncated = True
                    break
            raw = b"".join(chunks)[:max_bytes]
            encoding = response.encoding or "utf-8"
            return Fetched(
                method=method,
                url=str(response.request.url),
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                header_list=[(k.lower(), v) for k, v in response.headers.multi_items()],
                body=raw.decode(encoding, errors="replace"),
                truncated=truncated,
                elapsed_s=time.monotonic() - started,
            )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Fetched(
            method=method,
            url=_absolute(client, url),
            status=0,
            headers={},
            error=f"{type(exc).__name__}: {exc}",
            elapsed_s=time.monotonic() - started,
        )


def _absolute(client: httpx.Client, url: str) -> str:
    """The full URL a failed request was for (evidence names it, not a bare path)."""
    try:
        return str(client.build_request("GET", url).url)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        return url


def as_response(fetched: Fetched) -> httpx.Response:
    """Rebuild an httpx.Response (for evidence recorders that take one)."""
    request = httpx.Request(fetched.method, fetched.url)
    # The body is already decoded: drop the headers that would make httpx decode it again.
    headers = [
        (k, v)
        for k, v in (fetched.header_list or list(fetched.headers.items()))
        if k not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        fetched.status or 599,
        headers=headers,
        content=fetched.body.encode(),
        request=request,
    )


def failure_kind(error: str | None) -> str:
    """What happened to a request the target did not answer, in words for a verdict."""
    text = (error or "").lower()
    name = text.split(":", 1)[0]
    if "timeout" in name:
        return "timed out"
    if name == "connecterror":
        return "refused the connection"
    if "reset" in text or "disconnected" in text or "broken pipe" in text or name == "readerror":
        return "reset by the target"
    if name in ("remoteprotocolerror", "decodingerror", "localprotocolerror"):
        return "answered with a malformed response"
    return "failed"


def unanswered_summary(responses: Iterable[Fetched], *, examples: int = 2) -> str:
    """Every status-0 answer in words, e.g. "1 request reset by the target (GET /boom)";
    "" when every request was answered."""
    by_kind: dict[str, list[Fetched]] = {}
    for response in responses:
        if response.status == 0:
            by_kind.setdefault(failure_kind(response.error), []).append(response)
    parts = []
    for kind, failed in by_kind.items():
        shown = ", ".join(f"{r.method} {r.url}" for r in failed[:examples])
        more = f" and {len(failed) - examples} more" if len(failed) > examples else ""
        noun = "request" if len(failed) == 1 else "requests"
        parts.append(f"{len(failed)} {noun} {kind} ({shown}{more})")
    return "; ".join(parts)
