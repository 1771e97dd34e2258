"""Unit tests for harness.probes.cors against an in-process app (httpx MockTransport)."""

from __future__ import annotations

import httpx

from harness.probes.cors import hostile_origins, judge_listed, judge_unlisted, observe
from harness.scope import ScopeGuard, scoped_client

LISTED = "https://app.example.test"


def _client(policy: str) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        origin = request.headers.get("origin", "")
        headers = {}
        if policy == "strict" and origin == LISTED or policy == "reflect":
            headers = {
                "access-control-allow-origin": origin,
                "access-control-allow-credentials": "true",
            }
        elif policy == "startswith" and origin.startswith(LISTED):
            headers = {"access-control-allow-origin": origin}
        elif policy == "credentials-only":
            headers = {"access-control-allow-credentials": "true"}
        elif policy == "star":
            headers = {
                "access-control-allow-origin": "*",
                "access-control-allow-credentials": "true",
            }
        return httpx.Response(204 if request.method == "OPTIONS" else 200, headers=headers)

    return scoped_client(
        ScopeGuard(["127.0.0.0/8"]),
        base_url="https://127.0.0.1:8443",
        transport=httpx.MockTransport(handler),
    )


def _issues(policy: str) -> list[str]:
    with _client(policy) as client:
        found = []
        for origin in hostile_origins([LISTED]):
            for preflight in (True, False):
                found += [
                    i.problem
                    for i in judge_unlisted(observe(client, "/api/x", origin, preflight=preflight))
                ]
        return found


def test_hostile_origins_cover_null_suffix_and_prefix_lookalikes():
    origins = hostile_origins([LISTED])
    assert "null" in origins
    assert "https://app.example.test.evil.test" in origins
    assert "https://evilapp.example.test" in origins
    assert "http://app.example.test" in origins
    assert LISTED not in origins


def test_strict_allow_list_has_no_issues_and_passes_the_positive_control():
    assert _issues("strict") == []
    with _client("strict") as client:
        assert judge_listed(observe(client, "/api/x", LISTED, preflight=True)) is None


def test_reflection_star_and_suffix_matching_are_caught():
    assert any("reflected" in p for p in _issues("reflect"))
    assert any("'*'" in p for p in _issues("star"))
    assert _issues("startswith"), "a startswith() matcher grants the suffix look-alike"


def test_credentials_without_acao_is_reported():
    assert any("without ACAO" in p for p in _issues("credentials-only"))


def test_positive_control_fails_when_nothing_is_granted():
    with _client("none") as client:
        assert judge_listed(observe(client, "/api/x", LISTED, preflight=False))
