"""Session probes (fixation, replay) and the OAuth and brute-force probes, on the fake target."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fake_auth_target import fake_target

from harness.auth import login
from harness.probes.bruteforce import guess
from harness.probes.oauth import _tamper, check_authorize, entropy_bits, replay_callback
from harness.probes.sessions import check_fixation, replay


@pytest.mark.parametrize(("fixation", "problems"), [(False, 0), (True, 2)])
def test_fixation_probe(fixation: bool, problems: int) -> None:
    target, _ = fake_target("oauth-pkce", fixation=fixation)
    result = check_fixation(target, "alice")
    assert result.prelogin_source == "GET /auth/spotify/login"
    assert len(result.problems) == problems, result.problems
    assert result.planted_replay is not None
    assert result.planted_replay.authenticated is fixation


def test_fixation_probe_plants_a_value_when_no_anonymous_session() -> None:
    target, _ = fake_target("oauth-pkce")
    target.profile.auth.require_oauth().start_path = "/nowhere"
    target.profile.auth.login_path = "/nowhere"
    result = check_fixation(target, "carol", "api")
    assert result.prelogin_source and "chosen value" in result.prelogin_source
    assert result.problems == []


def test_replay_reports_the_status() -> None:
    target, _ = fake_target("oauth-pkce")
    session = login(target, "alice")
    assert session.cookie_value
    assert replay(target, session.cookie_value).authenticated
    assert replay(target, "forged").status == 401


@pytest.mark.parametrize(("no_state_check", "accepted"), [(False, False), (True, True)])
def test_callback_replay(no_state_check: bool, accepted: bool) -> None:
    target, _ = fake_target("oauth-pkce", no_state_check=no_state_check)
    for variant in ("wrong state", "no state"):
        result = replay_callback(target, "alice", variant)
        assert result.accepted is accepted, (variant, result)
        if not accepted:
            assert result.status == 400 and result.control_accepted is True


def test_authorize_checks() -> None:
    good = {
        "response_type": "code",
        "code_challenge_method": "S256",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "state": "Zq3vT0kLx9_mP2aB7cD-eF1gH4iJ5kL6",
    }
    assert check_authorize("u", good, {"state": "x", "code_challenge": "y"}).problems == []
    plain = {**good, "code_challenge_method": "plain", "code_challenge": "short", "state": "42"}
    problems = check_authorize("u", plain, good).problems
    assert len(problems) == 3, problems
    assert any("same in two logins" in p for p in check_authorize("u", good, good).problems)
    assert entropy_bits("0123456789abcdef" * 2) == 128.0
    assert entropy_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == 36.0


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_tamper() -> None:
    # Compare the parsed value: a substring test ("state=s" not in the URL) failed whenever the
    # random replacement happened to start with "s", one run in 64.
    url = "https://a/cb?code=c&state=s"
    for _ in range(200):
        wrong = _query(_tamper(url, "wrong state"))
        assert wrong["code"] == ["c"]
        assert len(wrong["state"]) == 1 and wrong["state"] != ["s"]
    assert _tamper(url, "no state") == "https://a/cb?code=c"
    assert _query(_tamper(url, "empty state"))["state"] == [""]


def test_tamper_never_reuses_the_genuine_state(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["s", "s", "other"])
    monkeypatch.setattr("harness.probes.oauth.secrets.token_urlsafe", lambda _n: next(drawn))
    assert _query(_tamper("https://a/cb?code=c&state=s", "wrong state"))["state"] == ["other"]


@pytest.mark.parametrize(("lockout", "stopped"), [(True, True), (False, False)])
def test_bruteforce(lockout: bool, stopped: bool) -> None:
    target, _ = fake_target("form", lockout=lockout)
    result = guess(
        target,
        target.profile.auth.user("carol"),
        attempts=5,
        sources=["127.0.0.81", "127.0.0.82"],
        pause_s=0,
    )
    assert (result.stopped_at is not None) is stopped
    assert result.final is not None and result.final.logged_in is not stopped
    assert [a.source for a in result.attempts][:2] == ["127.0.0.81", "127.0.0.82"]
