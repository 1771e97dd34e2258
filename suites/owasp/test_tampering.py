"""SEC-08: tampered, forged and client-side session cookies are rejected, never crash."""

from __future__ import annotations

import json

import pytest

from harness.auth import with_cookie
from harness.probes.bounded import as_response, fetch
from harness.probes.tamper import judge, variants
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack

SOURCE = "127.0.0.85"


@pytest.mark.control("SEC-08")
def test_tampered_session_cookies_are_rejected(target, login, evidence):
    auth = target.profile.auth
    if auth.flow in ("bearer", "none"):
        raise NotApplicable(f"auth.flow {auth.flow!r} uses no session cookie")
    session = login(local_address=SOURCE)
    valid = session.cookie_value
    assert valid, f"login left no {auth.session_cookie} cookie to tamper with"
    me = session.me()
    user_ids: list[int | str] = [1, 2]
    names = ["admin"]
    if me.status_code == 200:
        body = me.json()
        user = body.get("user", body) if isinstance(body, dict) else {}
        if isinstance(user, dict):
            if user.get("id") is not None:
                user_ids = [user["id"], *[u for u in (1, 2) if u != user["id"]]][:3]
            names = [str(user.get("username") or user.get("name") or "admin"), "admin"]
    # Authenticated targets: the API identity route and the first page that needs a login.
    routes = [auth.require_me_path()]
    with target.client(local_address=SOURCE) as anonymous:
        for page in target.profile.target.pages:
            answer = fetch(anonymous, "GET", page, total_s=5)
            if answer.status in (401, 403) or (
                300 <= answer.status < 400 and auth.login_path in (answer.header("location") or "")
            ):
                routes.append(page)
                break
    # Positive control: the untampered cookie is accepted on the same routes.
    with with_cookie(target, valid, local_address=SOURCE) as client:
        control = fetch(client, "GET", auth.me_path, total_s=5)
    evidence.http(as_response(control), title="positive control: the real cookie")
    assert control.status == 200, (
        f"positive control failed: the untampered cookie got HTTP {control.status} on "
        f"{auth.me_path}, so rejections would prove nothing"
    )
    outcomes = []
    bad = []
    for variant in variants(valid, user_ids, names):
        with with_cookie(target, variant.value, local_address=SOURCE) as client:
            for route in routes:
                response = fetch(client, "GET", route, total_s=5)
                outcome = judge(variant, response, auth.login_path)
                outcomes.append({"route": route, **outcome.model_dump()})
                if outcome.accepted or outcome.server_error:
                    bad.append(outcome.describe(route))
                    if len(bad) <= 4:
                        evidence.http(as_response(response), title=f"{variant.name} on {route}")
    evidence.json("tampered cookies", outcomes)
    evidence.text("variants tried", json.dumps(sorted({o["variant"] for o in outcomes}), indent=1))
    assert not bad, "tampered session data was not rejected:\n" + "\n".join(bad[:20])
