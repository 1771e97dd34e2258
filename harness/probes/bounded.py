"""HTTP requests bounded by total time and body size.

httpx timeouts are per network operation: a streaming endpoint that sends a byte every few
seconds never trips them (see scanner-pitfalls.md). Every probe that reads bodies it did not
choose (crawls, fuzzing) goes through :func:`fetch`, which stops reading at a deadline and a
size cap and says so in the result instead of hanging.
"""

from __future__ import annotations

import time
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
            streaming = response.headers.get("content-type", "").startswith(STREAMING_TYPES)
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                # A streaming type is read a little and closed: it would never end by itself.
                if size >= max_bytes or time.monotonic() > deadline or streaming:
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
            url=url,
            status=0,
            headers={},
            error=f"{type(exc).__name__}: {exc}",
            elapsed_s=time.monotonic() - started,
        )


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
