"""API-06's bearer-token probe against small verifiers that show each weakness (and its absence)."""

from __future__ import annotations

from typing import Any

from harness.api import bearer


def _verifier(key: bytes, *, accept_none: bool = False, check_exp: bool = True):
    import time

    def send(token: str | None) -> tuple[int, str]:
        if token is None:
            return 401, ""
        parsed = bearer.parse(token)
        if parsed is None:
            return 401, ""
        header, claims = parsed
        unsigned = accept_none and header["alg"].lower() == "none"
        if not unsigned and bearer.encode(header, claims, key) != token:
            return 401, ""
        if check_exp and claims.get("exp", 0) <= time.time():
            return 401, ""
        return 200, "{}"

    return send


def _token(key: bytes, **claims: Any) -> str:
    import time

    body = {"sub": "alice", "exp": int(time.time()) + 600, **claims}
    return bearer.encode({"alg": "HS256", "typ": "JWT"}, body, key)


def test_bearer_sound_token_passes_with_its_positive_control() -> None:
    key = b"a-long-random-secret-nobody-guesses-0123456789"
    report = bearer.probe(_token(key), _verifier(key))
    assert report.judgeable and not report.weaknesses
    assert [a.name for a in report.attempts] == ["alg none", "alg None", "altered signature"]


def test_bearer_alg_none_weak_secret_and_ignored_expiry_are_found() -> None:
    report = bearer.probe(_token(b"changeme"), _verifier(b"changeme", check_exp=False))
    text = " ".join(report.weaknesses)
    assert "common secret ('changeme')" in text and "expired token" in text
    report = bearer.probe(_token(b"x" * 40), _verifier(b"x" * 40, accept_none=True))
    assert any("alg 'none'" in w for w in report.weaknesses)


def test_bearer_token_without_expiry_fails_and_a_dead_baseline_is_not_judged() -> None:
    key = b"k" * 40
    token = bearer.encode({"alg": "HS256"}, {"sub": "a"}, key)
    report = bearer.probe(token, _verifier(key, check_exp=False))
    assert any("no exp claim" in w for w in report.weaknesses)
    assert not bearer.probe(_token(key), lambda t: (401, "")).judgeable
