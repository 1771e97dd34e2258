"""SEC-03: bursts on auth and API routes end in 429 with Retry-After, and recover.

Each burst comes from its own loopback source address so the per-IP budget it exhausts is not
the one the rest of the suite uses. Limits are fixed or sliding windows: a burst that starts
late in a fixed window can pass up to twice the limit before the first 429, so the margin is
one full limit (documented in docs/controls/hardening.md). Once limited, the same address
sends a few requests with a new client-chosen X-Forwarded-For, X-Real-IP and Forwarded value
each: they must stay limited, or the limiter keys on what the client says it is.
"""

from __future__ import annotations

import secrets

import pytest

from harness.loopback import source
from harness.probes.bounded import as_response
from harness.probes.forwarding import FORWARDING_HEADERS
from harness.probes.ratelimit import BurstResult, burst, request_factory
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

AUTH_SOURCE = source(77)
API_SOURCE = source(78)


def _record(evidence, result) -> None:
    evidence.json(
        f"burst {result.method} {result.url}",
        result.model_dump(mode="json", exclude={"limited_response"}),
    )
    if result.limited_response is not None:
        evidence.http(as_response(result.limited_response), title="first 429")
    evidence.figure(f"first 429 at request ({result.url})", result.first_429_at or 0, "requests")


def _judge(result: BurstResult, margin: int) -> None:
    problems = result.problems(margin=margin)
    assert not problems, "\n".join(problems)
    unjudged = result.unjudged_headers
    if unjudged:
        raise NotEvaluated(
            f"the limit held for the plain burst on {result.method} {result.url}, but whether "
            f"it holds against a client-chosen "
            + "; ".join(f"{c.header} could not be judged: {c.reason}" for c in unjudged)
        )


@pytest.mark.control("SEC-03")
def test_auth_route_is_rate_limited(target, evidence):
    profile = target.profile
    limits = profile.limits
    path = profile.auth.api_login_path or profile.auth.login_path
    limit = limits.auth_requests or 100
    window = limits.auth_window_s or 60
    target.safety.require_intrusive(f"a burst of up to {2 * limit + 1} logins to {path}")
    # A name that exists nowhere: the burst must not lock a real account out (AUTH-09).
    body = {
        profile.auth.username_field: f"ratelimit-{secrets.token_hex(4)}",
        profile.auth.password_field: "wrong-password",
    }
    # Deliberately anonymous: a login flood comes from clients that have no session.
    with target.client(local_address=AUTH_SOURCE) as client:
        if profile.auth.api_login_path:
            send = request_factory(client, "POST", path, json=body)
        else:
            send = request_factory(client, "POST", path, data=body)
        result = burst(
            send,
            url=path,
            method="POST",
            limit=limit,
            margin=limit,
            window_s=window,
            vary_headers=FORWARDING_HEADERS,
        )
    _record(evidence, result)
    _judge(result, limit)


@pytest.mark.control("SEC-03")
def test_api_route_is_rate_limited(target, evidence):
    profile = target.profile
    limits = profile.limits
    path = (
        limits.rate_limited_paths or [profile.auth.me_path or profile.target.openapi_path or "/"]
    )[0]
    limit = limits.api_requests or 1000
    window = limits.api_window_s or 60
    target.safety.require_intrusive(f"a burst of up to {2 * limit + 1} requests to {path}")
    # Deliberately anonymous: the limit must hold for a flood that has no credential (a
    # limiter placed after authentication would let it through).
    with target.client(local_address=API_SOURCE) as client:
        result = burst(
            request_factory(client, "GET", path),
            url=path,
            method="GET",
            limit=limit,
            margin=limit,
            window_s=window,
            vary_headers=FORWARDING_HEADERS,
        )
    _record(evidence, result)
    _judge(result, limit)
