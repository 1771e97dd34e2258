"""The login adapters against an in-process fake target (no stack needed)."""

from __future__ import annotations

import pytest
from fake_auth_target import fake_target  # tests/ is on sys.path (rootdir-less test dir)

from harness.auth import AuthError, login, logout, with_cookie
from harness.auth import oauth as oauth_steps
from harness.auth.forms import parse_page


def test_oauth_pkce_login_sets_session_and_csrf() -> None:
    target, state = fake_target("oauth-pkce")
    session = login(target, "bob")
    assert session.cookie_value
    assert session.user_name == "bob"
    assert session.is_authenticated()
    assert session.me().json()["user"] == "bob"
    assert session.csrf_token == state.sessions[str(session.cookie_value)]["csrf"]
    assert session.headers_for_write() == {"X-CSRF-Token": session.csrf_token}
    # The trail: start redirect, consent page, decision redirect, callback.
    assert [r.status_code for r in session.steps] == [302, 200, 302, 303]
    assert any("HttpOnly" in h for h in session.set_cookie_headers())


def test_oauth_unknown_profile_user_is_a_provider_user() -> None:
    target, _ = fake_target("oauth-pkce")
    assert login(target, "dave").me().json()["user"] == "dave"


def test_oauth_steps_expose_authorize_params() -> None:
    target, _ = fake_target("oauth-pkce")
    client = target.client()
    authorize = oauth_steps.begin(client, target.profile.auth.require_oauth())
    assert authorize.params["code_challenge_method"] == "S256"
    consent = oauth_steps.approve(
        client, authorize, "alice", target.profile.auth.require_oauth(), target.base_url
    )
    assert consent.params["state"] == authorize.state
    assert oauth_steps.complete(client, consent.callback_url).status_code == 303


def test_form_login_with_hidden_csrf() -> None:
    target, state = fake_target("form")
    session = login(target, "alice")
    assert session.is_authenticated()
    assert session.csrf_token == state.sessions[str(session.cookie_value)]["csrf"]


def test_form_login_wrong_password_raises() -> None:
    target, _ = fake_target("form")
    target.profile.auth.users[0].password = "wrong"
    with pytest.raises(AuthError, match="credentials refused"):
        login(target, "alice")


def test_api_login_reads_csrf_from_json() -> None:
    target, _ = fake_target("oauth-pkce")
    session = login(target, "carol", flow="api")
    assert session.login_json and session.csrf_token == session.login_json["csrf_token"]
    assert session.is_authenticated()


def test_bearer_and_none() -> None:
    target, _ = fake_target("bearer")
    session = login(target, "svc")
    assert session.client.headers["Authorization"] == "Bearer tok-1"
    assert session.cookie_value is None and session.headers_for_write() == {}
    anon = login(target, flow="none")
    assert anon.user is None and not anon.is_authenticated()


def test_unknown_user_and_flow_are_errors() -> None:
    target, _ = fake_target("form")
    with pytest.raises(AuthError):
        login(target, "nobody")
    with pytest.raises(AuthError):
        login(target, "alice", flow="saml")


def test_logout_kills_session_and_replay_is_rejected() -> None:
    target, _ = fake_target("oauth-pkce")
    session = login(target, "alice")
    old = session.cookie_value
    assert old
    response = logout(session)
    assert response is not None and response.status_code == 204
    replay = with_cookie(target, old)
    assert replay.get("/api/v1/me").status_code == 401


def test_form_parser_reads_buttons_meta_and_hidden_fields() -> None:
    info = parse_page(
        '<meta name="CSRF-Token" content="m1"><form method="POST" action="/x">'
        '<input type="hidden" name="a" value="1"><input type="checkbox" name="c" checked>'
        '<button id="deny" name="d" value="deny">No</button>'
        '<button id="approve" name="d" value="approve">Yes</button></form>'
    )
    form = info.forms[0]
    assert info.meta["csrf-token"] == "m1"
    assert form.method == "post" and form.values() == {"a": "1", "c": "on"}
    button = form.approve_button()
    assert button is not None and button.value == "approve"
