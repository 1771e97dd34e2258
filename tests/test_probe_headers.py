"""Unit tests for harness.probes.headers (no stack)."""

from __future__ import annotations

from harness.probes.bounded import Fetched
from harness.probes.headers import check_security_headers, csp_problems, frame_protected

GOOD = {
    "content-security-policy": "default-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=()",
}


def _resp(headers: dict[str, str], status: int = 200) -> Fetched:
    return Fetched(method="GET", url="https://t.test/x", status=status, headers=headers)


def _headers_named(issues):
    return {i.header for i in issues}


def test_compliant_response_has_no_issues():
    assert check_security_headers(_resp(GOOD)) == []


def test_each_missing_header_is_reported_separately():
    issues = check_security_headers(_resp({}, status=404))
    assert _headers_named(issues) == {
        "Content-Security-Policy",
        "Strict-Transport-Security",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Permissions-Policy",
    }
    assert all(i.status == 404 for i in issues)


def test_short_hsts_is_a_problem():
    issues = check_security_headers(_resp({**GOOD, "strict-transport-security": "max-age=86400"}))
    assert [i.header for i in issues] == ["Strict-Transport-Security"]
    assert "86400" in issues[0].describe()


def test_hsts_not_required_over_plain_http():
    headers = {k: v for k, v in GOOD.items() if k != "strict-transport-security"}
    assert check_security_headers(_resp(headers), https=False) == []


def test_unsafe_inline_in_script_src_and_default_src_fallback():
    assert csp_problems("script-src 'self' 'unsafe-inline'") == [
        "script-src allows 'unsafe-inline'"
    ]
    assert csp_problems("default-src 'self' 'unsafe-eval'") == ["default-src allows 'unsafe-eval'"]
    # A nonce makes browsers ignore 'unsafe-inline' (CSP2 backwards compatibility idiom).
    assert csp_problems("script-src 'nonce-abc' 'unsafe-inline'") == []
    assert csp_problems("img-src *") == ["neither script-src nor default-src restricts scripts"]


def test_frame_protection_by_csp_frame_ancestors_alone():
    assert frame_protected({"content-security-policy": "frame-ancestors 'self'"})
    assert not frame_protected({"content-security-policy": "frame-ancestors *"})
    assert not frame_protected({"x-frame-options": "ALLOW-FROM https://x"})


def test_unsafe_referrer_policy_values():
    for value in ("unsafe-url", "no-referrer-when-downgrade", "origin-when-cross-origin"):
        issues = check_security_headers(_resp({**GOOD, "referrer-policy": value}))
        assert _headers_named(issues) == {"Referrer-Policy"}, value
    # The last recognised value of a list is the effective one.
    assert (
        check_security_headers(_resp({**GOOD, "referrer-policy": "unsafe-url, no-referrer"})) == []
    )
