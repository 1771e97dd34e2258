"""Session lifecycle probes: replaying a cookie, timelines for timeouts, fixation.

A replay always uses a fresh client that presents exactly the cookie under test, so nothing
else in a jar (a newer cookie, another user's) can make a rejected session look alive.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field

from harness.auth import Session, login, with_cookie
from harness.auth.session import cookie_from_jar
from harness.target import Target


class Replay(BaseModel):
    """One request to the me endpoint with one cookie value."""

    at_s: float = 0.0
    url: str
    status: int
    authenticated: bool
    note: str = ""


def replay(
    target: Target,
    cookie_value: str,
    *,
    note: str = "",
    started: float | None = None,
    local_address: str | None = None,
) -> Replay:
    path = target.profile.auth.require_me_path()
    # Exactly the one cookie under test, nothing else of a session: a replay must not be
    # helped by any other credential (callers run it for cookie flows only).
    with with_cookie(target, cookie_value, local_address=local_address) as client:
        response = client.get(path)
    return Replay(
        at_s=round(time.monotonic() - started, 2) if started is not None else 0.0,
        url=str(response.request.url),
        status=response.status_code,
        authenticated=response.status_code == 200,
        note=note,
    )


def touch(session: Session, *, started: float, note: str = "") -> Replay:
    """A request in the session's own client (the way a browser keeps a session busy)."""
    response = session.me()
    return Replay(
        at_s=round(time.monotonic() - started, 2),
        url=str(response.request.url),
        status=response.status_code,
        authenticated=response.status_code == 200,
        note=note,
    )


class Timeline(BaseModel):
    limit_s: float
    margin_s: float
    probes: list[Replay] = Field(default_factory=list)

    def first_rejection(self) -> Replay | None:
        return next((p for p in self.probes if not p.authenticated), None)


def sleep_until(started: float, at_s: float) -> None:
    delay = started + at_s - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class Fixation(BaseModel):
    """Pre-login id vs post-login id, and whether an attacker's planted id got logged in."""

    flow: str
    prelogin_source: str | None = None
    pre_login: str | None = None
    post_login: str | None = None
    planted_replay: Replay | None = None
    problems: list[str] = Field(default_factory=list)


def anonymous_cookie(target: Target, client: httpx.Client) -> tuple[str | None, str | None]:
    """Let the app hand out a pre-login session (login page, OAuth start); (value, source)."""
    auth = target.profile.auth
    name = auth.login.anonymous_cookie or auth.require_session_cookie()
    paths = [auth.login_path]
    if auth.oauth is not None:
        paths.insert(0, auth.oauth.start_path)
    if auth.flow == "anonymous-cookie":
        paths.insert(0, auth.login.anonymous_path)
    for path in paths:
        if not path:
            continue
        client.get(path)
        value = cookie_from_jar(client, name)
        if value:
            return value, f"GET {path}"
    return None, None


def check_fixation(
    target: Target,
    user_name: str | None,
    flow: str | None = None,
    *,
    local_address: str | None = None,
) -> Fixation:
    """The victim logs in on a jar holding the attacker's anonymous session id.

    An app that keeps the id at login hands the attacker an authenticated session: the
    attacker's replay of that id must not reach the me endpoint.
    """
    flow = flow or target.profile.auth.flow
    result = Fixation(flow=flow)
    auth = target.profile.auth
    name = (
        auth.login.anonymous_cookie if flow == "anonymous-cookie" else None
    ) or auth.require_session_cookie()
    if flow == "anonymous-cookie":
        # No login to rotate the id at: what matters is that the app never adopts an id the
        # client chose (an attacker could then plant a known id in a victim's browser).
        return _adopts_chosen_id(target, result, name, local_address)
    host = urlsplit(target.base_url).hostname or ""
    # The attacker and the victim start without any credential: fixation is about what
    # happens to a pre-login id at login.
    with target.client(local_address=local_address) as attacker:
        planted, source = anonymous_cookie(target, attacker)
        result.prelogin_source = source
        jar_cookies = [c for c in attacker.cookies.jar if c.name == name]
    victim = target.client(local_address=local_address)
    if planted and jar_cookies:
        victim.cookies.jar.set_cookie(jar_cookies[-1])
    else:
        # No anonymous session is handed out: plant a value of our own choosing instead.
        planted = secrets.token_urlsafe(32)
        victim.cookies.set(name, planted, domain=host, path="/")
        result.prelogin_source = "chosen value (the app issues no pre-login session)"
    result.pre_login = planted
    with login(target, user_name, flow, client=victim, local_address=local_address) as session:
        result.post_login = session.cookie_value
    result.planted_replay = replay(
        target, planted, note="attacker replays the planted id", local_address=local_address
    )
    if result.post_login == planted:
        result.problems.append("the session id did not change at login")
    if result.planted_replay.authenticated:
        result.problems.append(
            f"the planted pre-login id is authenticated after the victim's login "
            f"(GET {result.planted_replay.url} -> HTTP {result.planted_replay.status})"
        )
    return result


def _adopts_chosen_id(
    target: Target, result: Fixation, name: str, local_address: str | None
) -> Fixation:
    host = urlsplit(target.base_url).hostname or ""
    planted = secrets.token_urlsafe(32)
    # The victim starts without any credential: the planted id is all it has.
    victim = target.client(local_address=local_address)
    victim.cookies.set(name, planted, domain=host, path="/")
    result.pre_login = planted
    result.prelogin_source = "chosen value (planted before the app hands out its cookie)"
    with login(target, None, "anonymous-cookie", client=victim, local_address=local_address) as s:
        result.post_login = s.cookie_value
    if result.post_login == planted:
        result.problems.append("the app adopted a session id the client chose")
    return result
