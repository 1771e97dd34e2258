"""Raw Set-Cookie parsing and the session cookie flag rules (AUTH-06)."""

from __future__ import annotations

from fake_auth_target import fake_target

from harness.auth import login
from harness.probes.cookies import (
    cookie_login_flows,
    cookie_problems,
    parse_set_cookie,
    session_set_cookies,
)


def test_good_cookie_has_no_problems() -> None:
    cookie = parse_set_cookie("s=abc.def; HttpOnly; Path=/; SameSite=lax; Secure")
    assert (cookie.name, cookie.value, cookie.samesite) == ("s", "abc.def", "Lax")
    assert cookie_problems(cookie) == []


def test_each_missing_flag_is_named() -> None:
    problems = cookie_problems(parse_set_cookie("s=abc; Path=/"))
    assert [p.split(" ")[0] for p in problems] == ["HttpOnly", "Secure", "SameSite"]
    none = cookie_problems(parse_set_cookie("s=abc; HttpOnly; Secure; SameSite=None"))
    assert none == ["SameSite=None: sent on cross-site requests"]


def test_secure_required_over_plain_http_too() -> None:
    cookie = parse_set_cookie("s=a; HttpOnly; SameSite=Strict")
    problems = cookie_problems(cookie, https=False)
    assert len(problems) == 1 and problems[0].startswith("Secure missing (seen over plain HTTP")
    assert (
        cookie_problems(parse_set_cookie("s=a; HttpOnly; Secure; SameSite=Strict"), https=False)
        == []
    )


def test_deleting_cookies_are_ignored() -> None:
    headers = [
        's=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
        "other=1; Path=/",
        "s=live; Path=/; HttpOnly",
    ]
    assert [c.value for c in session_set_cookies(headers, "s")] == ["live"]


def _problems_by_flow(**flags: bool) -> dict[str, list[str]]:
    target, _ = fake_target("oauth-pkce", **flags)
    out: dict[str, list[str]] = {}
    for flow, user in cookie_login_flows(target.profile.auth):
        session = login(target, user, flow=flow)
        headers = [h for r in session.steps for h in r.headers.get_list("set-cookie")]
        cookies = session_set_cookies(headers, session.cookie_name)
        assert cookies, flow
        out[flow] = [p for c in cookies for p in cookie_problems(c)]
    return out


def test_every_login_path_is_checked() -> None:
    assert _problems_by_flow() == {"oauth-pkce": [], "api": [], "form": []}


def test_one_login_path_without_secure_is_named() -> None:
    problems = _problems_by_flow(api_cookie_no_secure=True)
    assert problems["oauth-pkce"] == [] and problems["form"] == []
    assert [p.split(":")[0] for p in problems["api"]] == ["Secure missing"]
