"""Access control probes driven by the target's operations (OpenAPI document or crawl).

* ``probe_anonymous``: every secured or state-changing operation, called with no credentials.
* ``discover_objects``: user A creates and lists objects through the API; the two-user matrix
  over them is ``harness.probes.access_matrix``.

Requests are schema-valid (see ``harness.operations``) so that validation cannot answer in place of
the access check, and bounded in number (per-collection caps) so cost grows linearly with the
size of the API.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, Field

from harness.operations import (
    Operation,
    RequestSpec,
    ValuePool,
    collection_of,
    request_for,
)

Verdict = Literal["accepted", "rejected", "inconclusive", "skipped"]
IDS_PER_COLLECTION = 3
COMBINATIONS_PER_OPERATION = 6
# Reads first, writes next, deletes last: a broken app must not lose an object before the
# other probes of that object ran.
_ORDER = {"GET": 0, "HEAD": 0, "OPTIONS": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}

Sender = Callable[[RequestSpec], httpx.Response]


class Call(BaseModel):
    """One probe request and how its answer was read."""

    operation: str
    method: str
    path: str
    status: int
    verdict: Verdict
    reason: str = ""
    location: str | None = None
    request_body: Any = None
    response_excerpt: str = ""


def send(
    client: httpx.Client,
    spec: RequestSpec,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> httpx.Response:
    """One bounded request (total time) for a spec; streaming bodies are cut off."""
    kwargs: dict[str, Any] = {
        "params": spec.params or None,
        "headers": headers or None,
        "timeout": httpx.Timeout(timeout_s),
    }
    if spec.has_body:
        kwargs["json"] = spec.json_body
    elif spec.form is not None:
        kwargs["data"] = spec.form
    with client.stream(spec.method, spec.path, **kwargs) as response:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > 256_000 or "event-stream" in response.headers.get("content-type", ""):
                break
    # The body is decoded already: drop the headers that would make httpx decode it again.
    kept = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=kept, content=body, request=response.request
    )


def _excerpt(response: httpx.Response) -> str:
    return response.content[:300].decode("utf-8", errors="replace")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def is_login_redirect(response: httpx.Response, login_paths: Iterable[str]) -> bool:
    location = response.headers.get("location")
    if response.status_code not in (301, 302, 303, 307, 308) or not location:
        return False
    path = urlsplit(urljoin(str(response.request.url), location)).path
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in login_paths if p)


# -- anonymous calls (AUTH-11) ---------------------------------------------------------------


class AnonymousReport(BaseModel):
    calls: list[Call] = Field(default_factory=list)
    public: list[str] = Field(default_factory=list, description="operations the profile allows")

    @property
    def accepted(self) -> list[Call]:
        return [c for c in self.calls if c.verdict == "accepted"]

    @property
    def inconclusive(self) -> list[Call]:
        return [c for c in self.calls if c.verdict == "inconclusive"]

    @property
    def rejected(self) -> list[Call]:
        return [c for c in self.calls if c.verdict == "rejected"]


def protected_operations(ops: Iterable[Operation]) -> list[Operation]:
    """Declared secured, or state-changing whatever the document says (it may be wrong)."""
    return [op for op in ops if op.declared_secured or op.state_changing]


def classify_anonymous(response: httpx.Response, login_paths: Iterable[str]) -> tuple[Verdict, str]:
    status = response.status_code
    if status in (401, 403):
        return "rejected", f"HTTP {status}"
    if is_login_redirect(response, login_paths):
        return "rejected", "redirect to the login page"
    if 200 <= status < 400:
        return "accepted", f"HTTP {status} without credentials"
    # 400/404/405/422/5xx: something refused it, but not visibly the authentication layer
    # (validation ran first, or the route is broken). Not an access, not a proof either.
    return "inconclusive", f"HTTP {status}: refused, but not by authentication"


def probe_anonymous(
    client: httpx.Client,
    ops: Iterable[Operation],
    *,
    public: Iterable[str] = (),
    login_paths: Iterable[str] = (),
    pool: ValuePool | None = None,
) -> AnonymousReport:
    """Call each protected operation once with no credentials (deletes last)."""
    allowed = {
        p.strip().upper().split(" ", 1)[0] + " " + p.strip().split(" ", 1)[-1] for p in public
    }
    report = AnonymousReport()
    login_paths = list(login_paths)
    for op in sorted(protected_operations(ops), key=lambda o: _ORDER.get(o.method, 1)):
        if op.key in allowed:
            report.public.append(op.key)
            continue
        spec = request_for(op, pool=pool, style="complete")
        response = send(client, spec)
        verdict, reason = classify_anonymous(response, login_paths)
        report.calls.append(
            Call(
                operation=op.key,
                method=op.method,
                path=spec.path,
                status=response.status_code,
                verdict=verdict,
                reason=reason,
                location=response.headers.get("location"),
                request_body=spec.json_body if spec.has_body else spec.form,
                response_excerpt=_excerpt(response),
            )
        )
    return report


# -- two-user matrix (AUTH-10) ---------------------------------------------------------------


class Discovery(BaseModel):
    """What user A owns after the discovery rounds."""

    pool: ValuePool = Field(default_factory=ValuePool)
    created: list[Call] = Field(default_factory=list)
    listed: list[Call] = Field(default_factory=list)


def _fillable(op: Operation, pool: ValuePool) -> list[dict[str, Any]]:
    """Path-value combinations for ``op`` from the pool (empty: some parameter has none)."""
    choices = []
    for param in op.path_param_names:
        ids = pool.for_param(op.path, param)[:IDS_PER_COLLECTION]
        if not ids:
            return []
        choices.append([(param, value) for value in ids])
    combos = [dict(c) for c in itertools.product(*choices)] if choices else [{}]
    return combos[:COMBINATIONS_PER_OPERATION]


def discover_objects(
    send_as_owner: Sender,
    ops: list[Operation],
    *,
    exclude: Callable[[Operation], bool] = lambda op: False,
    rounds: int = 3,
) -> Discovery:
    """Let the owner list every collection and create through every POST it can fill.

    Later rounds use what earlier ones found (a playlist id makes its tracks creatable, a
    track id makes a download creatable).
    """
    found = Discovery()
    created_ops: set[str] = set()
    for _ in range(rounds):
        before = sum(len(v) for v in found.pool.ids_by_collection.values())
        for op in ops:
            if op.method != "GET" or exclude(op):
                continue
            for values in _fillable(op, found.pool):
                spec = request_for(op, values, pool=found.pool, style="complete")
                response = send_as_owner(spec)
                data = _json(response) if response.is_success else None
                if data is None:
                    continue
                # /things lists things; /things/{id} is one thing of /things.
                where = op.path if not op.path.endswith("}") else op.collection
                found.pool.harvest(_items(data), where)
                found.listed.append(
                    Call(
                        operation=op.key,
                        method="GET",
                        path=spec.path,
                        status=response.status_code,
                        verdict="skipped",
                    )
                )
        for op in ops:
            if op.method != "POST" or op.key in created_ops or exclude(op):
                continue
            for values in _fillable(op, found.pool)[:1]:
                spec = request_for(op, values, pool=found.pool, style="complete")
                response = send_as_owner(spec)
                found.created.append(
                    Call(
                        operation=op.key,
                        method="POST",
                        path=spec.path,
                        status=response.status_code,
                        verdict="skipped",
                        request_body=spec.json_body,
                        response_excerpt=_excerpt(response),
                    )
                )
                data = _json(response)
                if response.is_success:
                    created_ops.add(op.key)  # once is enough, with or without a body
                    if isinstance(data, dict | list):
                        found.pool.harvest(data, op.path)
        after = sum(len(v) for v in found.pool.ids_by_collection.values())
        if after == before and _ > 0:
            break
    return found


def _items(data: Any) -> Any:
    """A list response may be wrapped: ``{"items": [...]}``, ``{"data": [...]}``."""
    if isinstance(data, dict):
        for key in ("items", "data", "results", "content"):
            if isinstance(data.get(key), list):
                return data[key]
    return data


__all__ = [
    "AnonymousReport",
    "Call",
    "Discovery",
    "collection_of",
    "discover_objects",
    "probe_anonymous",
    "protected_operations",
    "send",
]
