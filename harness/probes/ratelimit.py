"""Rate limiting: burst one route from a dedicated source address, then wait for recovery.

The burst goes out from its own loopback address (e.g. 127.0.0.77) so the limiter's per-IP
budget it exhausts is not the one other tests run on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from pydantic import BaseModel, Field

from harness.probes.bounded import Fetched, fetch


class BurstResult(BaseModel):
    url: str
    method: str
    sent: int
    limit: int
    statuses: list[int] = Field(default_factory=list)
    first_429_at: int | None = None  # 1-based index of the first 429
    retry_after: str | None = None
    limited_response: Fetched | None = None
    recovered: bool | None = None
    recovery_status: int | None = None
    recovery_wait_s: float | None = None
    elapsed_s: float = 0.0

    def problems(self, margin: int) -> list[str]:
        out: list[str] = []
        where = f"{self.method} {self.url}"
        if self.first_429_at is None:
            out.append(
                f"{where}: no 429 after {self.sent} requests (limit {self.limit}); "
                f"statuses seen: {sorted(set(self.statuses))}"
            )
            return out
        if self.first_429_at > self.limit + margin:
            out.append(
                f"{where}: first 429 only at request {self.first_429_at}, beyond the "
                f"limit {self.limit} + margin {margin}"
            )
        if not self.retry_after:
            out.append(f"{where}: the 429 carries no Retry-After header")
        else:
            try:
                if int(self.retry_after) <= 0:
                    out.append(f"{where}: Retry-After {self.retry_after!r} is not positive")
            except ValueError:
                pass  # an HTTP-date is allowed (RFC 9110 §10.2.3)
        if self.recovered is False:
            out.append(
                f"{where}: still limited after waiting {self.recovery_wait_s:.1f}s "
                f"(HTTP {self.recovery_status})"
            )
        return out


def burst(
    make_request: Callable[[], Fetched],
    *,
    url: str,
    method: str,
    limit: int,
    margin: int,
    window_s: float,
    check_recovery: bool = True,
) -> BurstResult:
    """Send up to limit+margin+1 requests fast; stop at the first 429; then wait the window."""
    started = time.monotonic()
    result = BurstResult(url=url, method=method, sent=0, limit=limit)
    for index in range(1, limit + margin + 2):
        response = make_request()
        result.sent = index
        result.statuses.append(response.status)
        if response.status == 429:
            result.first_429_at = index
            result.retry_after = response.header("retry-after")
            result.limited_response = response
            break
    if result.first_429_at is not None and check_recovery:
        wait = window_s + 1.0
        if result.retry_after and result.retry_after.isdigit():
            wait = min(float(result.retry_after) + 0.5, window_s * 2 + 1.0)
        time.sleep(wait)
        again = make_request()
        result.recovery_wait_s = wait
        result.recovery_status = again.status
        result.recovered = again.status != 429
    result.elapsed_s = time.monotonic() - started
    return result


def request_factory(
    client: httpx.Client, method: str, url: str, **kwargs: object
) -> Callable[[], Fetched]:
    def send() -> Fetched:
        return fetch(client, method, url, total_s=5, **kwargs)  # type: ignore[arg-type]

    return send
