"""SEC-08: tampered, forged and client-side session cookies are rejected, never crash."""

from __future__ import annotations

import json

import pytest

from harness.auth import no_cookie_reason, with_cookie
from harness.loopback import source
from harness.probes.bounded import as_response, fetch
from harness.probes.tamper import judge, judge_kept, reissues, variants
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(85)


@pytest.mark.control("SEC-08")
def test_tampered_session_cookies_are_rejected(target, login, evidence):
    auth = target.profile.auth
    reason = no_cookie_reason(auth.flow)
    if reason:
        raise NotApplicable(reason)
    session = login(local_address=SOURCE)
    if auth.flow == "anonymous-cookie":
        _anonymous_cookie(target, session, evidence)
        return
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


def _anonymous_cookie(target, session, evidence):
    """The cookie the app hands out to anyone: a tampered one must be replaced, never kept."""
    name, path = session.cookie_name, target.profile.auth.login.anonymous_path
    valid = session.require_cookie()
    # Positive control: the app keeps its own cookie, so a fresh one means "rejected".
    with with_cookie(target, valid, name=name, local_address=SOURCE) as client:
        control = fetch(client, "GET", path, total_s=5)
    evidence.http(as_response(control), title="positive control: the real cookie")
    if reissues(control, name) or control.status >= 400:
        raise NotEvaluated(
            f"GET {path} with the app's own {name!r} cookie answered HTTP {control.status} "
            "with a fresh cookie: a kept tampered cookie could not be told from a rejected one"
        )
    outcomes, bad = [], []
    for variant in variants(valid, [1, 2], ["admin"]):
        with with_cookie(target, variant.value, name=name, local_address=SOURCE) as client:
            response = fetch(client, "GET", path, total_s=5)
        outcome = judge_kept(variant, response, name)
        outcomes.append({"route": path, **outcome.model_dump()})
        if outcome.accepted or outcome.server_error:
            bad.append(outcome.describe(path))
            if len(bad) <= 4:
                evidence.http(as_response(response), title=f"{variant.name} on {path}")
    evidence.json("tampered cookies", outcomes)
    assert not bad, "tampered session cookies were not replaced:\n" + "\n".join(bad[:20])
