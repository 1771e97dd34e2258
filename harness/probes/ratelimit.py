"""Rate limiting: burst one route from a dedicated source address, then wait for recovery.

The burst goes out from its own loopback address (e.g. 127.0.0.77) so the limiter's per-IP
budget it exhausts is not the one other tests run on. Once the address is limited, requests
from it that carry a new client-chosen forwarding header each (``X-Forwarded-For``,
``X-Real-IP``, ``Forwarded``) must stay limited: a limiter keyed on a value the client picks
gives every such request a fresh budget. Checking right after the 429 costs a few requests per
header instead of a whole burst per header.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal, Protocol

import httpx
from pydantic import BaseModel, Field

from harness.probes.bounded import Fetched, fetch
from harness.probes.forwarding import spoofed_header

# Requests per header, each with a new value: one could slip through a window boundary.
HEADER_TRIES = 3


class Sender(Protocol):
    def __call__(self, headers: dict[str, str] | None = None) -> Fetched: ...


class HeaderCheck(BaseModel):
    """Whether the limit held for requests carrying a new client-chosen ``header`` each."""

    header: str
    values: list[str] = Field(default_factory=list)
    statuses: list[int] = Field(default_factory=list)
    control_status: int | None = None  # a request without the header, right after
    verdict: Literal["held", "bypassed", "inconclusive"] = "inconclusive"
    reason: str = ""


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
    headers: list[HeaderCheck] = Field(default_factory=list)

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
        for check in self.headers:
            if check.verdict == "bypassed":
                out.append(
                    f"{where}: the limit does not hold against a client-chosen "
                    f"{check.header}: {check.reason}"
                )
        return out

    @property
    def unjudged_headers(self) -> list[HeaderCheck]:
        return [c for c in self.headers if c.verdict == "inconclusive"]


def _check_header(send: Sender, header: str, tries: int) -> HeaderCheck:
    check = HeaderCheck(header=header)
    for _ in range(tries):
        extra = spoofed_header(header)
        check.values.append(extra[header])
        check.statuses.append(send(extra).status)
    check.control_status = send().status
    through = [s for s in check.statuses if s not in (0, 429)]
    if check.control_status != 429:
        # The window rolled over (or the answer failed): nothing tells the two keys apart.
        check.reason = (
            f"a request without {header} right after got HTTP {check.control_status}, not "
            "429: the limiter's window ended during the check"
        )
    elif through:
        check.verdict = "bypassed"
        check.reason = (
            f"{len(through)} of {tries} requests with a new {header} value each were answered "
            f"{check.statuses} while the same address without it was still limited (429): "
            f"the limiter keys on {header} as the client sent it"
        )
    elif 0 in check.statuses:
        check.reason = f"the target did not answer every request with {header}: {check.statuses}"
    else:
        check.verdict = "held"
        check.reason = f"all {tries} requests with a new {header} value each were answered 429"
    return check


def _until_limited(make_request: Sender, attempts: int) -> Fetched | None:
    for _ in range(attempts):
        response = make_request()
        if response.status == 429:
            return response
    return None


def burst(
    make_request: Sender,
    *,
    url: str,
    method: str,
    limit: int,
    margin: int,
    window_s: float,
    check_recovery: bool = True,
    vary_headers: Sequence[str] = (),
    header_tries: int = HEADER_TRIES,
) -> BurstResult:
    """Send up to limit+margin+1 requests fast; stop at the first 429; then, for each of
    ``vary_headers``, a few requests with a new client-chosen value; then wait the window."""
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
    if result.first_429_at is not None:
        for header in vary_headers:
            check = _check_header(make_request, header, header_tries)
            if check.verdict == "inconclusive" and _until_limited(make_request, limit + margin + 1):
                check = _check_header(make_request, header, header_tries)  # once more
            result.headers.append(check)
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


def request_factory(client: httpx.Client, method: str, url: str, **kwargs: object) -> Sender:
    def send(headers: dict[str, str] | None = None) -> Fetched:
        return fetch(client, method, url, total_s=5, headers=headers, **kwargs)  # type: ignore[arg-type]

    return send
