"""Observability depth: probes judge per dependency, per status class, on error paths, every
secret the harness holds, and the actor's identity (not its presence)."""

from __future__ import annotations

from typing import Any

from harness.probes import correlation

AGENT = "harness-test"


def _recorded(*headers: dict[str, str]) -> list[dict[str, Any]]:
    return [{"time": 10.0, "headers": {"user-agent": "python-httpx", **h}} for h in headers]


def test_forwarding_is_judged_per_service() -> None:
    # Two recording services: the app forwards the id to the first and drops it on the second.
    spotify = _recorded({"x-request-id": "rid-1"}, {"x-request-id": "rid-1"})
    slskd = _recorded({}, {"x-api-key": "k"})
    results = [
        correlation.service_forwarding(
            name, recorded, "X-Request-ID", ["rid-1"], since=5.0, exclude_user_agent=AGENT
        )
        for name, recorded in (("spotify", spotify), ("slskd", slskd))
    ]
    # Pooled, the one service that keeps the id hides the one that drops it.
    assert any(r.forwarded for r in results)
    problems = correlation.forwarding_problems(results, "X-Request-ID")
    assert len(problems) == 1 and problems[0].startswith("slskd: 2 outbound request(s)")


def test_a_service_the_app_did_not_call_is_not_judged() -> None:
    quiet = correlation.service_forwarding(
        "quiet", _recorded(), "X-Request-ID", ["rid-1"], since=5.0, exclude_user_agent=AGENT
    )
    harness_only = correlation.service_forwarding(
        "mock",
        [{"time": 10.0, "headers": {"user-agent": AGENT}}],
        "X-Request-ID",
        ["rid-1"],
        since=5.0,
        exclude_user_agent=AGENT,
    )
    assert not quiet.judged and not harness_only.judged
    assert correlation.forwarding_problems([quiet, harness_only], "X-Request-ID") == []
