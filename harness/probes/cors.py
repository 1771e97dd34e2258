"""CORS: what a server grants to which Origin.

Sends a preflight (OPTIONS with Access-Control-Request-*) and a simple request for each origin
and judges the grant. An unlisted origin must get no Access-Control-Allow-Origin that matches it,
never ``*`` together with credentials, and no ``Access-Control-Allow-Credentials: true`` even
when ACAO is absent (a half-configured grant is a smell worth reporting: scanner-pitfalls.md).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from harness.probes.bounded import Fetched, fetch

EVIL = "https://evil.test"


class CorsObservation(BaseModel):
    origin: str
    kind: str  # "preflight" or "simple"
    url: str
    status: int
    allow_origin: str | None
    allow_credentials: bool
    allow_methods: str | None = None
    response: Fetched


class CorsIssue(BaseModel):
    origin: str
    kind: str
    url: str
    problem: str

    def describe(self) -> str:
        return f"{self.kind} {self.url} with Origin {self.origin!r}: {self.problem}"


def hostile_origins(allowed: list[str]) -> list[str]:
    """Origins a sloppy matcher confuses with the listed ones: null, suffix and prefix tricks."""
    origins = [EVIL, "null"]
    for listed in allowed:
        parts = urlsplit(listed)
        host = parts.hostname or ""
        scheme = parts.scheme or "https"
        origins.append(f"{scheme}://{host}.evil.test")  # suffix look-alike (startswith match)
        origins.append(f"{scheme}://evil{host}")  # prefix look-alike (endswith match)
        origins.append(f"{scheme}://evil-{host}")
        other_scheme = "http" if scheme == "https" else "https"
        origins.append(f"{other_scheme}://{parts.netloc}")  # scheme downgrade
    seen: list[str] = []
    for origin in origins:
        if origin not in seen and origin not in allowed:
            seen.append(origin)
    return seen


def observe(
    client: httpx.Client,
    url: str,
    origin: str,
    *,
    preflight: bool,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> CorsObservation:
    request_headers = {"Origin": origin, **(headers or {})}
    if preflight:
        request_headers["Access-Control-Request-Method"] = method
        request_headers["Access-Control-Request-Headers"] = "content-type,x-csrf-token"
        response = fetch(client, "OPTIONS", url, headers=request_headers, total_s=5)
    else:
        response = fetch(client, "GET", url, headers=request_headers, total_s=5)
    return CorsObservation(
        origin=origin,
        kind="preflight" if preflight else "simple",
        url=url,
        status=response.status,
        allow_origin=response.header("access-control-allow-origin"),
        allow_credentials=(response.header("access-control-allow-credentials") or "")
        .strip()
        .lower()
        == "true",
        allow_methods=response.header("access-control-allow-methods"),
        response=response,
    )


def judge_unlisted(obs: CorsObservation) -> list[CorsIssue]:
    """Problems with what an origin that is NOT on the allow-list was granted."""
    issues: list[CorsIssue] = []

    def add(problem: str) -> None:
        issues.append(CorsIssue(origin=obs.origin, kind=obs.kind, url=obs.url, problem=problem))

    acao = (obs.allow_origin or "").strip()
    if acao and acao.lower() == obs.origin.lower():
        add(
            f"origin reflected in Access-Control-Allow-Origin ({acao!r})"
            + (" with credentials" if obs.allow_credentials else "")
        )
    elif acao == "*" and obs.allow_credentials:
        add("Access-Control-Allow-Origin '*' together with Allow-Credentials true")
    elif obs.allow_credentials:
        add(
            "Access-Control-Allow-Credentials: true sent to an unlisted origin"
            + (f" (ACAO {acao!r})" if acao else " (without ACAO)")
        )
    return issues


def judge_listed(obs: CorsObservation) -> str | None:
    """Positive control: a listed origin is granted (else the probe may be blind)."""
    acao = (obs.allow_origin or "").strip()
    if acao.lower() != obs.origin.lower():
        return (
            f"{obs.kind} {obs.url}: listed origin {obs.origin!r} was not granted "
            f"(Access-Control-Allow-Origin {acao or 'absent'!r}, HTTP {obs.status})"
        )
    return None
