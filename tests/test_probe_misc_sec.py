"""Unit tests for the smaller SEC probes: tls report judgement, audit records, rate-limit
bursts, CSRF cases."""

from __future__ import annotations

import json

from harness.probes.audit import matching, parse
from harness.probes.bounded import Fetched
from harness.probes.csrf import cases
from harness.probes.ratelimit import burst
from harness.probes.tls import TlsReport, mozilla_intermediate


def test_mozilla_intermediate_comes_from_sslyze_data():
    allowed = mozilla_intermediate()
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in allowed
    assert "TLS_AES_128_GCM_SHA256" in allowed
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" not in allowed


def test_tls_report_problems():
    good = TlsReport(
        host="h",
        port=1,
        sni="h",
        chain_trusted=True,
        accepted={
            "tls_1_2": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
            "tls_1_3": ["TLS_AES_128_GCM_SHA256"],
            "tls_1_0": [],
        },
    )
    assert good.problems(mozilla_intermediate()) == []
    legacy = good.model_copy(
        update={
            "accepted": {
                "tls_1_0": ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"],
                "tls_1_2": ["TLS_RSA_WITH_AES_128_CBC_SHA"],
            },
            "chain_trusted": False,
        }
    )
    problems = " ".join(legacy.problems(mozilla_intermediate()))
    assert "TLS 1.0" in problems and "outside Mozilla intermediate" in problems
    assert "not trusted" in problems


def test_audit_records_and_their_fields():
    lines = [
        "not json",
        json.dumps({"logger": "app.access", "message": "GET /", "correlation_id": "r1"}),
        json.dumps(
            {
                "logger": "app.audit",
                "event": "login",
                "actor": "bob",
                "outcome": "success",
                "time": "t",
                "correlation_id": "r1",
            }
        ),
        json.dumps({"event": "logout", "actor": "bob", "correlation_id": "r2"}),
    ]
    records = parse(lines, 100)
    assert [r.line for r in records] == [102, 103]
    assert records[0].missing == []
    assert set(records[1].missing) == {"outcome", "time"}
    assert matching(records, correlation_id="r1", words=("login",))[0].line == 102
    assert matching(records, correlation_id="r1", words=("logout",)) == []


def _fetched(status: int, retry: str | None = None) -> Fetched:
    return Fetched(
        method="GET", url="/x", status=status, headers={"retry-after": retry} if retry else {}
    )


def test_burst_finds_the_limit_and_checks_recovery():
    calls = {"n": 0}

    def limited() -> Fetched:
        calls["n"] += 1
        return _fetched(429, "1") if 5 < calls["n"] <= 6 else _fetched(200)

    result = burst(limited, url="/x", method="GET", limit=5, margin=5, window_s=0.2)
    assert result.first_429_at == 6 and result.recovered
    assert result.problems(margin=5) == []


def test_burst_without_limit_or_retry_after_is_reported():
    result = burst(lambda: _fetched(200), url="/x", method="GET", limit=3, margin=3, window_s=0.1)
    assert "no 429" in result.problems(margin=3)[0]
    no_retry = burst(
        lambda: _fetched(429), url="/x", method="GET", limit=3, margin=3, window_s=0.05
    )
    assert any("Retry-After" in p for p in no_retry.problems(margin=3))
    assert any("still limited" in p for p in no_retry.problems(margin=3))


def test_csrf_cases_have_one_positive_control():
    made = cases("X-CSRF-Token", "tok", "https://app")
    assert [c.name for c in made if c.expect_success] == [
        "same-origin with token (positive control)"
    ]
    assert any(c.form for c in made)
    assert all(
        c.headers.get("Origin") == "https://evil.test"
        for c in made
        if c.name.startswith("cross-site")
    )
