"""SEC-04 on an operation only a logged-in user reaches: every mutation carries the bearer
token, a 401-only walk checks nothing, and "checked N of M" counts what time left out."""

from __future__ import annotations

import json
from typing import Any

import httpx

from harness.operations import operations
from harness.probes.actor import Actor
from harness.probes.bounded import Fetched, fetch
from harness.probes.validation import run
from harness.scope import ScopeGuard, scoped_client

BASE = "https://127.0.0.1:8443"
DOC = {
    "openapi": "3.1.0",
    "paths": {
        "/lists/{list_id}/tracks": {
            "post": {
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "list_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["title"],
                                "properties": {
                                    "title": {"type": "string", "maxLength": 300},
                                    "artist": {"type": "string"},  # the forgotten maxLength
                                },
                            }
                        }
                    }
                },
            }
        },
        "/lists": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {}}]}},
    },
}


def _target(seen: list[str | None]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != "Bearer t0k":
            return httpx.Response(401, json={"error": {"code": "unauthorized"}})
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return httpx.Response(400, json={"error": {"code": "bad_json"}})
        if isinstance(body, dict) and len(str(body.get("artist", ""))) > 300:
            return httpx.Response(500, json={"error": {"code": "internal_error"}})
        return httpx.Response(422, json={"error": {"code": "validation_error"}})

    return scoped_client(
        ScopeGuard(["127.0.0.0/8"]), base_url=BASE, transport=httpx.MockTransport(handler)
    )


class _Session:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        client.headers["Authorization"] = "Bearer t0k"

    def headers_for_write(self) -> dict[str, str]:
        return {}

    def close(self) -> None:
        pass


def test_every_mutation_of_an_authenticated_operation_carries_the_token() -> None:
    seen: list[str | None] = []
    with _target(seen) as client:
        actor = Actor(lambda: _Session(client))
        ops = [o for o in operations(DOC) if o.method == "POST"]
        report = run(actor.send, ops, {"list_id": 1}, per_op=20)
    assert seen and set(seen) == {"Bearer t0k"}  # raw and header mutations too
    assert report.coverage() == "checked 1 of 1 operations"
    assert [o.mutation for o in report.problems] == ["artist: over-long string (20000 chars)"]


def test_a_walk_that_only_met_401_checked_nothing() -> None:
    with _target([]) as client:

        def anonymous(method: str, path: str, **kwargs: Any) -> Fetched:
            # The weakness: the probe's own client, without the session's token.
            headers = {**(kwargs.pop("headers", None) or {}), "Authorization": ""}
            return fetch(client, method, path, headers=headers, **kwargs)

        report = run(anonymous, operations(DOC), {"list_id": 1})
    assert report.problems == [] and report.checked() == []
    assert (
        report.coverage() == "checked 0 of 2 operations; 2 answered only 401/403/429 or not at all"
    )


def test_operations_the_time_budget_left_out_are_counted() -> None:
    def slow(method: str, path: str, **kwargs: Any) -> Fetched:
        return Fetched(method=method, url=path, status=422, headers={}, body="{}")

    report = run(slow, operations(DOC), {"list_id": 1}, total_s=0.0)
    assert report.coverage() == "checked 0 of 2 operations; 2 not reached within the time budget"
