"""The login adapters against in-process and loopback fake targets (no stack needed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from auth_recording_target import Recorded, RecordingState, recording_target
from fake_auth_target import fake_target  # tests/ is on sys.path (rootdir-less test dir)

from harness.auth import AuthError, Session, login, logout, with_cookie
from harness.auth import oauth as oauth_steps
from harness.auth.forms import parse_page
from harness.engines.authproxy import AuthProxy
from harness.guard_browser import chromium_path, guarded_browser
from harness.probes.actor import Actor
from harness.probes.bounded import fetch
from harness.probes.browser import session_credential
from harness.probes.sessions import check_fixation
from harness.probes.tamper import judge_kept, reissues, variants
from harness.verdicts import NotApplicable


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


# -- every adapter against a loopback target that records what it receives -------------------

ALSO_FROM = ["127.0.0.2", "127.0.0.3"]


def _exercise(session: Session) -> None:
    """Requests through every client a probe builds from a session."""
    target = session.target
    session.get("/me")
    session.post("/items", json={"name": "x"})
    with session.new_client() as fresh:
        fresh.get("/fresh")
    fetch(session.client, "GET", "/fetched", total_s=5)
    actor = Actor(
        lambda: session,
        client_factory=lambda address: target.client(local_address=address),
        addresses=ALSO_FROM,
    )
    actor.send("GET", "/actor")
    actor.send("POST", "/actor", json={})
    actor._current += 1  # the next address, as after a 429
    actor.send("DELETE", "/actor/1")
    with target.client() as plain:
        session.apply(plain).get("/applied")
    # The DAST engine's proxy forwards a scanner's anonymous requests with the credential.
    with (
        AuthProxy(
            target.base_url,
            lambda: _Kept(session),
            client_factory=lambda: target.client(local_address=ALSO_FROM[0]),
            guard=target.guard,
        ) as proxy,
        httpx.Client() as scanner,
    ):
        assert scanner.get(proxy.url + "/proxied", headers={"Authorization": "x"}).status_code
    # The browser checks' context.
    if chromium_path() is not None:
        with guarded_browser(target.guard) as browser:
            page = browser.new_page(*session_credential(session, target.base_url))
            page.goto(target.url("/browser"))


class _Kept:
    """The session as the proxy's login result, not closed when the proxy stops."""

    def __init__(self, session: Session) -> None:
        self.client = session.client
        self.headers = session.headers
        self.headers_for_write = session.headers_for_write

    def close(self) -> None:
        return


EXERCISED = {"/me", "/items", "/fresh", "/fetched", "/actor", "/actor/1", "/applied", "/proxied"}


def _all_carry(requests: list[Recorded], has: Callable[[Recorded], bool]) -> None:
    paths = {r.path for r in requests}
    assert EXERCISED | ({"/browser"} if chromium_path() else set()) <= paths
    assert {r.client for r in requests} >= {"127.0.0.1", *ALSO_FROM}
    missing = [f"{r.method} {r.path} from {r.client}" for r in requests if not has(r)]
    assert not missing, f"requests without the credential: {missing}"


FORM_200 = {"success": [{"status": 200}, {"cookie": "sid"}, {"text": "Welcome"}]}


def test_form_login_answering_200_with_a_cookie_is_a_success_when_the_profile_says_so() -> None:
    with recording_target("form", FORM_200) as (target, state):
        session = login(target, "alice")
        sid = session.require_cookie()
        mark = len(state.requests)
        _exercise(session)
        _all_carry(state.since(mark), lambda r: f"sid={sid}" in r.headers.get("cookie", ""))


def test_form_login_wrong_password_is_still_refused() -> None:
    with recording_target("form", FORM_200) as (target, _):
        target.profile.auth.users[0].password = "wrong"
        with pytest.raises(AuthError, match="credentials refused"):
            login(target, "alice")


def test_form_login_answering_200_without_conditions_is_refused() -> None:
    with recording_target("form") as (target, _), pytest.raises(AuthError, match="no redirect"):
        login(target, "alice")


def test_form_identity_condition() -> None:
    with recording_target("form", {"success": [{"identity": True}]}) as (target, state):
        assert login(target, "alice").cookie_value
        target.profile.auth.users[0].password = "wrong"
        with pytest.raises(AuthError, match="GET /me answered HTTP 401"):
            login(target, "alice")


TOKEN = {"token_path": "data.token", "expires_in_path": "/data/expires_in"}


def _valid_token(state: RecordingState) -> Callable[[Recorded], bool]:
    def has(r: Recorded) -> bool:
        token = r.headers.get("authorization", "").removeprefix("Bearer ")
        return token in state.tokens

    return has


def test_json_token_login_every_client_carries_the_bearer_token() -> None:
    with recording_target("json-token", TOKEN) as (target, state):
        session = login(target, "alice")
        assert session.cookie_value is None and session.headers_for_write() == {}
        assert session.headers["Authorization"].startswith("Bearer ")
        mark = len(state.requests)
        _exercise(session)
        _all_carry(state.since(mark), _valid_token(state))
        with pytest.raises(NotApplicable, match="header, not a session cookie"):
            session.require_cookie()


def test_json_token_missing_token_names_the_key() -> None:
    with (
        recording_target("json-token", {"token_path": "access_token"}) as (target, _),
        pytest.raises(AuthError, match="no token at 'access_token'.*data, refresh_token"),
    ):
        login(target, "alice")


def test_json_token_expiry_logs_in_again() -> None:
    # expires_in 2.5 s, renewed 2 s early: the second request needs a new token.
    with recording_target("json-token", TOKEN, token_ttl_s=2.5) as (target, state):
        session = login(target, "alice")
        first = session.headers["Authorization"]
        time.sleep(0.6)
        assert session.me().status_code == 200
        assert session.headers["Authorization"] != first and state.logins == 2
        mark = len(state.requests)
        _exercise(session)
        _all_carry([r for r in state.since(mark) if r.path != "/api/login"], _valid_token(state))


def test_json_token_expiry_uses_the_refresh_route() -> None:
    settings = {**TOKEN, "refresh_path": "/api/refresh"}
    with recording_target("json-token", settings, token_ttl_s=2.5) as (target, state):
        session = login(target, "alice")
        time.sleep(0.6)
        assert session.me().status_code == 200
        assert state.logins == 1 and any(r.path == "/api/refresh" for r in state.requests)


def test_static_bearer_header() -> None:
    with recording_target("bearer") as (target, state):
        session = login(target, "svc")
        mark = len(state.requests)
        _exercise(session)
        _all_carry(state.since(mark), lambda r: r.headers.get("authorization") == "Bearer tok-1")


def test_static_api_key_header() -> None:
    settings = {"token_header": "X-API-Key", "token_scheme": ""}
    with recording_target("static-header", settings) as (target, state):
        session = login(target, "robot")
        assert session.headers == {"X-API-Key": "key-1"}
        mark = len(state.requests)
        _exercise(session)
        _all_carry(state.since(mark), lambda r: r.headers.get("x-api-key") == "key-1")


def test_static_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECORDING_TOKEN", "tok-1")
    with recording_target("bearer", {"token_env": "RECORDING_TOKEN"}) as (target, _):
        assert login(target, "alice").headers == {"Authorization": "Bearer tok-1"}
        monkeypatch.delenv("RECORDING_TOKEN")
        with pytest.raises(AuthError, match=r"no token .*\$RECORDING_TOKEN"):
            login(target, "alice")


def test_anonymous_cookie_is_the_session_cookie_probes_get() -> None:
    settings = {"anonymous_cookie": "cart", "anonymous_path": "/"}
    with recording_target("anonymous-cookie", settings) as (target, state):
        session = login(target)
        cart = session.require_cookie()
        assert session.cookie_name == "cart" and session.set_cookie_headers()
        mark = len(state.requests)
        _exercise(session)
        _all_carry(state.since(mark), lambda r: f"cart={cart}" in r.headers.get("cookie", ""))
        fixation = check_fixation(target, None)
        assert fixation.post_login != fixation.pre_login and not fixation.problems
        assert logout(session) is None


@pytest.mark.parametrize("adopt", [False, True], ids=["replaced", "fault-kept"])
def test_tampered_anonymous_cookies_are_judged_by_reissue(adopt: bool) -> None:
    settings = {"anonymous_cookie": "cart"}
    with recording_target("anonymous-cookie", settings, adopt_carts=adopt) as (target, _):
        cart = login(target).require_cookie()
        with with_cookie(target, cart, name="cart") as client:
            assert not reissues(fetch(client, "GET", "/", total_s=5), "cart")  # control
        outcomes = []
        for variant in variants(cart, [1], ["admin"]):
            with with_cookie(target, variant.value, name="cart") as client:
                outcomes.append(judge_kept(variant, fetch(client, "GET", "/", total_s=5), "cart"))
        kept = [o.variant for o in outcomes if o.accepted]
        # With the fault every non-empty forged id is kept (an empty one still gets a cart).
        assert len(kept) == (len(outcomes) - 1 if adopt else 0), kept
        fixation = check_fixation(target, None)
        assert bool(fixation.problems) == adopt


def test_anonymous_cookie_missing_says_which_key_to_set() -> None:
    with (
        recording_target("anonymous-cookie", {"anonymous_path": "/me"}) as (target, _),
        pytest.raises(AuthError, match="auth.login.anonymous_path"),
    ):
        login(target)


def test_a_reset_during_login_is_retried_once_and_recorded() -> None:
    with recording_target("form", FORM_200, reset={"POST /login": 1}) as (target, _):
        session = login(target, "alice")
        assert session.cookie_value and len(session.incidents) == 1
        assert "step 2" in session.incidents[0]


def test_two_resets_during_login_are_an_auth_error_not_a_raw_exception() -> None:
    with (
        recording_target("json-token", TOKEN, reset={"POST /api/login": 2}) as (target, _),
        pytest.raises(AuthError, match="could not be observed: .*step 1.*step 1"),
    ):
        login(target, "alice")


def test_a_reset_during_a_probe_request_is_an_observation() -> None:
    with recording_target("bearer", reset={"GET /boom": 1}) as (target, _):
        session = login(target, "svc")
        fetched = fetch(session.client, "GET", "/boom", total_s=5)
        assert fetched.status == 0 and fetched.error
        assert fetch(session.client, "GET", "/boom", total_s=5).status == 200
