"""Raw Set-Cookie parsing and the session cookie flag rules (AUTH-06)."""

from __future__ import annotations

from harness.probes.cookies import cookie_problems, parse_set_cookie, session_set_cookies


def test_good_cookie_has_no_problems() -> None:
    cookie = parse_set_cookie("s=abc.def; HttpOnly; Path=/; SameSite=lax; Secure")
    assert (cookie.name, cookie.value, cookie.samesite) == ("s", "abc.def", "Lax")
    assert cookie_problems(cookie) == []


def test_each_missing_flag_is_named() -> None:
    problems = cookie_problems(parse_set_cookie("s=abc; Path=/"))
    assert [p.split(" ")[0] for p in problems] == ["HttpOnly", "Secure", "SameSite"]
    none = cookie_problems(parse_set_cookie("s=abc; HttpOnly; Secure; SameSite=None"))
    assert none == ["SameSite=None: sent on cross-site requests"]


def test_secure_not_required_over_plain_http() -> None:
    assert cookie_problems(parse_set_cookie("s=a; HttpOnly; SameSite=Strict"), https=False) == []


def test_deleting_cookies_are_ignored() -> None:
    headers = [
        's=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/',
        "other=1; Path=/",
        "s=live; Path=/; HttpOnly",
    ]
    assert [c.value for c in session_set_cookies(headers, "s")] == ["live"]
