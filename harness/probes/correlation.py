"""Correlation ids: honoured, echoed, generated, sanitised, logged and forwarded.

The harness picks ids nobody else sends (``<prefix>-<random hex>``), so every log record or
outbound request that carries one was caused by the harness's own request, even while other
tests share the target. Outbound requests are read from the recorders of the stack's
third-party services (``GET /_mock/requests`` on the reference stack).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, Field

from harness import logs
from harness.probes.bounded import Fetched, fetch

# Values a well-behaved service must not echo back as a request id. CR/LF cannot be sent at
# all (HTTP clients and nginx refuse them), so the probes send what *can* arrive: an overlong
# value, header/HTML metacharacters and an encoded line break.
INVALID_IDS: dict[str, str] = {
    "overlong (1024 characters)": "a" * 1024,
    "markup and spaces": "id <script>alert(1)</script>",
    "encoded CR/LF with a forged header": "abc%0d%0aX-Injected:%20yes",
    "quotes and a JSON fragment": 'x","level":"ERROR","message":"forged',
}


def new_id(prefix: str = "hx") -> str:
    """A fresh id of safe characters only ([A-Za-z0-9-]), unique to this call."""
    return f"{prefix}-{secrets.token_hex(10)}"


class Echo(BaseModel):
    sent: str | None
    received: str | None
    url: str
    status: int

    @property
    def echoed(self) -> bool:
        return self.sent is not None and self.received == self.sent

    @property
    def leaked(self) -> bool:
        """The invalid value (or its bulk) came back: it was not replaced."""
        if not self.sent or not self.received:
            return False
        return self.sent in self.received or self.received in self.sent and len(self.received) > 16


def echo(response: httpx.Response | Fetched, header: str, sent: str | None) -> Echo:
    if isinstance(response, Fetched):
        return Echo(
            sent=sent, received=response.header(header), url=response.url, status=response.status
        )
    return Echo(
        sent=sent,
        received=response.headers.get(header),
        url=str(response.request.url),
        status=response.status_code,
    )


class LogCoverage(BaseModel):
    """Which log records carry a given id, and which related records do not."""

    request_id: str
    records: list[dict[str, Any]] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list, description="fields the id was found in")
    unmarked: list[dict[str, Any]] = Field(
        default_factory=list,
        description="records of the same request (they mention its unique marker) without the id",
    )


def log_coverage(
    records: Sequence[Mapping[str, Any]], request_id: str, marker: str | None = None
) -> LogCoverage:
    """Records carrying ``request_id``; with ``marker`` (a string unique to the request, e.g.
    its path), also the records that mention the marker but not the id."""
    coverage = LogCoverage(request_id=request_id)
    for record in records:
        if logs.mentions(record, request_id):
            coverage.records.append(dict(record))
            for key, value in record.items():
                if isinstance(value, str) and value == request_id and key not in coverage.fields:
                    coverage.fields.append(key)
        elif marker and logs.mentions(record, marker):
            coverage.unmarked.append(dict(record))
    return coverage


def fetch_recorded(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    """The requests a recording service received (JSON list), [] when it has no recorder
    (or did not answer: a reset here says nothing about the app under test)."""
    response = fetch(client, "GET", url, total_s=10, max_bytes=4_000_000)
    if response.status != 200 or response.truncated:
        return []
    try:
        data = json.loads(response.body)
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _header(recorded: Mapping[str, Any], name: str) -> str | None:
    headers = recorded.get("headers") or {}
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return None


def forwarded(
    recorded: Iterable[Mapping[str, Any]],
    header: str,
    ids: Iterable[str],
    *,
    since: float = 0.0,
    exclude_user_agent: str | None = None,
) -> list[dict[str, Any]]:
    """Recorded requests (made after ``since``) whose ``header`` carries one of ``ids``.

    ``exclude_user_agent`` drops requests the harness itself sent to the service (a browser
    step of a login): only requests the *app* made count as forwarding.
    """
    wanted = set(ids)
    found: list[dict[str, Any]] = []
    for item in recorded:
        when = item.get("time")
        if isinstance(when, int | float) and when < since:
            continue
        agent = _header(item, "user-agent")
        if exclude_user_agent and agent == exclude_user_agent:
            continue
        value = _header(item, header)
        if value and any(part.strip() in wanted for part in value.split(",")):
            found.append(dict(item))
    return found


def app_requests(
    recorded: Iterable[Mapping[str, Any]], *, since: float, exclude_user_agent: str
) -> list[dict[str, Any]]:
    """Requests a service received after ``since`` that the harness did not send itself."""
    out: list[dict[str, Any]] = []
    for item in recorded:
        when = item.get("time")
        if isinstance(when, int | float) and when < since:
            continue
        if _header(item, "user-agent") == exclude_user_agent:
            continue
        out.append(dict(item))
    return out


class ServiceForwarding(BaseModel):
    """What one recording service saw of the app's outbound calls after the harness's
    requests: judged per service, so a client that drops the id is not hidden by one that
    keeps it."""

    service: str
    app_calls: int = Field(description="requests the app (not the harness) sent it")
    forwarded: list[dict[str, Any]] = Field(
        default_factory=list, description="those carrying one of the harness's ids"
    )

    @property
    def judged(self) -> bool:
        return self.app_calls > 0

    @property
    def dropped(self) -> bool:
        return self.judged and not self.forwarded


def service_forwarding(
    service: str,
    recorded: Sequence[Mapping[str, Any]],
    header: str,
    ids: Iterable[str],
    *,
    since: float,
    exclude_user_agent: str,
) -> ServiceForwarding:
    calls = app_requests(recorded, since=since, exclude_user_agent=exclude_user_agent)
    return ServiceForwarding(
        service=service,
        app_calls=len(calls),
        forwarded=[
            {"service": service, **item}
            for item in forwarded(
                recorded, header, ids, since=since, exclude_user_agent=exclude_user_agent
            )
        ],
    )


def forwarding_problems(results: Sequence[ServiceForwarding], header: str) -> list[str]:
    """One line per service the app called without the id (empty when each one got it)."""
    return [
        f"{r.service}: {r.app_calls} outbound request(s) from the app, none with {header} "
        "set to one of the harness's ids"
        for r in results
        if r.dropped
    ]
