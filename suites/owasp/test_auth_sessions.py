"""Session management controls: restart survival, timeouts, cookie flags, fixation.

AUTH-01 sessions survive an app restart; AUTH-04 idle timeout; AUTH-05 absolute lifetime;
AUTH-06 session cookie flags; AUTH-07 the session id changes at login.
"""

from __future__ import annotations

import time

import pytest

from harness.auth import AuthError, LoginFactory, Session, no_cookie_reason
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.probes.cookies import cookie_login_flows, cookie_problems, session_set_cookies
from harness.probes.sessions import (
    Replay,
    Timeline,
    check_fixation,
    replay,
    sleep_until,
    touch,
)
from harness.profile import Profile
from harness.stack.base import Stack
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated

# Timers on both sides are coarse (whole seconds, a request's latency): leave this much room.
MARGIN_S = 2.5
REJECTED = (401, 403)
RESTART_ATTEMPTS = 3


def _cookie_flow(profile: Profile, *, anonymous: bool = False) -> None:
    reason = no_cookie_reason(profile.auth.flow)
    if reason:
        raise NotApplicable(reason)
    if profile.auth.flow == "anonymous-cookie" and not anonymous:
        raise NotApplicable(
            "auth.flow is 'anonymous-cookie': no login, so no authenticated session whose "
            "lifetime the identity route shows"
        )


def _cookie(session: Session) -> str:
    value = session.cookie_value
    assert value, f"login set no {session.cookie_name!r} cookie"
    return value


def _rejected(probe: Replay) -> bool:
    return probe.status in REJECTED


@pytest.mark.control("AUTH-01")
@pytest.mark.disruptive
def test_session_survives_app_restart(
    profile: Profile, stack: Stack, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    _cookie_flow(profile)
    idle = profile.session.idle_timeout_s
    attempts: list[dict[str, object]] = []
    # A restart slower than the idle timeout expires the session by itself; then the answer
    # says nothing about where sessions live, so try again (a loaded machine restarts slowly).
    for _attempt in range(RESTART_ATTEMPTS):
        session = login()
        cookie = _cookie(session)
        started = time.monotonic()
        before = replay(target, cookie, note="before the restart", started=started)
        assert before.authenticated, (
            f"fresh session not accepted: {before.url} -> HTTP {before.status}"
        )
        stack.restart(profile.target.app_service)
        restart_s = time.monotonic() - started
        # The app may still be warming up behind the proxy: a 5xx says nothing about sessions.
        after = replay(target, cookie, note="after the restart", started=started)
        deadline = time.monotonic() + 15
        while after.status >= 500 and time.monotonic() < deadline:
            time.sleep(0.5)
            after = replay(target, cookie, note="after the restart (retry)", started=started)
        attempts.append(
            {
                "restart_s": round(restart_s, 2),
                "before": before.model_dump(),
                "after": after.model_dump(),
            }
        )
        conclusive = after.authenticated or not idle or after.at_s - before.at_s < idle - 0.5
        if conclusive:
            break
    evidence.json("cookie replays around the restart", attempts)
    evidence.figure("app restart", round(restart_s, 2), "s")
    if not conclusive:
        raise NotEvaluated(
            f"each of {RESTART_ATTEMPTS} restarts took longer than the idle timeout ({idle}s): "
            "a rejected session cannot be told apart from an idle-expired one"
        )
    assert after.authenticated, (
        f"session lost on restart of {profile.target.app_service!r}: the cookie that worked "
        f"before (HTTP {before.status}) got HTTP {after.status} at {after.url} "
        f"{after.at_s:.1f}s later: sessions are not kept in a shared store"
    )


@pytest.mark.control("AUTH-04")
def test_idle_timeout(profile: Profile, login: LoginFactory, evidence: Evidence) -> None:
    _cookie_flow(profile)
    idle = profile.session.idle_timeout_s
    if not idle:
        raise NotApplicable("the profile sets no session.idle_timeout_s")
    if idle > 120:
        raise NotEvaluated(
            f"idle timeout {idle}s is too long to wait for in a test run "
            "(set a short one in the profile's environment)"
        )
    session = login()
    started = time.monotonic()
    timeline = Timeline(limit_s=idle, margin_s=MARGIN_S)
    # Two requests each a little before the limit: the session must stay alive across them,
    # although their sum exceeds the limit (an idle timer, not a short absolute one)...
    keepalive = max(idle - MARGIN_S, idle * 0.6)
    for step in (1, 2):
        sleep_until(started, keepalive * step)
        timeline.probes.append(touch(session, started=started, note=f"activity #{step}"))
    # ... and after a quiet period past the limit it must be gone.
    last = timeline.probes[-1].at_s
    sleep_until(started, last + idle + MARGIN_S)
    timeline.probes.append(touch(session, started=started, note="after idling past the limit"))
    evidence.json("idle timeline", timeline.model_dump())
    alive, dead = timeline.probes[:2], timeline.probes[2]
    for probe in alive:
        assert probe.authenticated, (
            f"session rejected {probe.at_s:.1f}s after login although it was used less than "
            f"{idle}s before (HTTP {probe.status} at {probe.url}): the timeout is not idle-based"
        )
    assert _rejected(dead), (
        f"session still accepted after {dead.at_s - last:.1f}s without a request "
        f"(idle timeout {idle}s): HTTP {dead.status} at {dead.url}"
    )


@pytest.mark.control("AUTH-05")
def test_absolute_timeout(profile: Profile, login: LoginFactory, evidence: Evidence) -> None:
    _cookie_flow(profile)
    limit = profile.session.absolute_timeout_s
    if not limit:
        raise NotApplicable("the profile sets no session.absolute_timeout_s")
    if limit > 300:
        raise NotEvaluated(f"absolute timeout {limit}s is too long to wait for in a test run")
    started = time.monotonic()  # before login: the session cannot be older than this
    session = login()
    idle = profile.session.idle_timeout_s or limit
    interval = max(0.5, min(2.0, idle / 3))
    timeline = Timeline(limit_s=limit, margin_s=MARGIN_S)
    at = 0.0
    while at <= limit + MARGIN_S:
        at += interval
        sleep_until(started, at)
        probe = touch(session, started=started, note="keeping the session busy")
        timeline.probes.append(probe)
        if _rejected(probe):
            break
    evidence.json("busy-session timeline", timeline.model_dump())
    rejection = next((p for p in timeline.probes if _rejected(p)), None)
    assert rejection is not None, (
        f"session kept busy every {interval:.1f}s still accepted "
        f"{timeline.probes[-1].at_s:.1f}s after login (absolute limit {limit}s): "
        f"HTTP {timeline.probes[-1].status} at {timeline.probes[-1].url}"
    )
    assert rejection.at_s >= limit - MARGIN_S - 1, (
        f"busy session rejected already {rejection.at_s:.1f}s after login, well before the "
        f"absolute limit of {limit}s (HTTP {rejection.status}): the session died for another "
        "reason, so the absolute limit was not what was measured"
    )


@pytest.mark.control("AUTH-06")
def test_session_cookie_flags(
    profile: Profile, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    _cookie_flow(profile, anonymous=True)
    https = target.base_url.startswith("https://")
    checked: list[str] = []
    unchecked: list[str] = []
    problems: list[str] = []
    attributes = []
    for flow, user in cookie_login_flows(profile.auth):
        try:
            session = login(user, flow=flow)
        except AuthError as exc:
            if flow == profile.auth.flow:
                raise
            unchecked.append(f"{flow} login: {exc}")  # e.g. no HTML form at auth.login_path
            continue
        for response in session.steps:
            evidence.http(
                response, f"{flow} login step {response.request.method} {response.request.url}"
            )
        cookies = session_set_cookies(
            [h for r in session.steps for h in r.headers.get_list("set-cookie")],
            session.cookie_name,
        )
        if not cookies:
            unchecked.append(f"{flow} login: no Set-Cookie for {session.cookie_name!r}")
            continue
        checked.append(flow)
        for cookie in cookies:
            found = cookie_problems(cookie, https=https)
            attributes.append({"flow": flow, "attributes": cookie.attributes, "problems": found})
            for problem in found:
                problems.append(f"{flow} login, {cookie.name}: {problem}")
                evidence.finding(
                    Finding(
                        rule="probe:session-cookie-flags",
                        title=problem,
                        severity=Severity.MEDIUM,
                        confidence=Confidence.CONFIRMED,
                        control="AUTH-06",
                        cwe=1004
                        if "HttpOnly" in problem
                        else (614 if "Secure" in problem else 1275),
                        owasp="A05",
                        url=target.base_url,
                        evidence=f"{flow} login: " + "; ".join(cookie.raw.split(";")[1:]).strip(),
                    )
                )
    evidence.json("session Set-Cookie attributes", attributes)
    if unchecked:
        evidence.json("login paths not checked", unchecked)
    assert checked or problems, (
        "no login set the session cookie, so its flags could not be judged: " + "; ".join(unchecked)
    )
    assert not problems, (
        f"session cookie flags (reached over {'HTTPS' if https else 'plain HTTP'}): "
        + "; ".join(sorted(set(problems)))
    )


def _fixation_flows(profile: Profile) -> list[str]:
    flows: list[str] = [profile.auth.flow]
    local = [u for u in profile.auth.users if u.password and u.name != profile.auth.lockout_user]
    if profile.auth.api_login_path and local and "api" not in flows:
        flows.append("api")
    return flows


@pytest.mark.control("AUTH-07")
@pytest.mark.parametrize("flow_index", [0, 1], ids=["profile-flow", "api-login"])
def test_session_id_changes_at_login(
    profile: Profile, target: Target, flow_index: int, evidence: Evidence
) -> None:
    _cookie_flow(profile, anonymous=True)
    flows = _fixation_flows(profile)
    if flow_index >= len(flows):
        raise NotApplicable("the profile has no second login flow (auth.api_login_path)")
    flow = flows[flow_index]
    user = None
    if flow == "api":
        user = next(
            u.name for u in profile.auth.users if u.password and u.name != profile.auth.lockout_user
        )
    result = check_fixation(target, user, flow)
    evidence.json(
        f"session ids around a {flow} login",
        {
            **result.model_dump(exclude={"pre_login", "post_login"}),
            "id_changed": result.pre_login != result.post_login,
        },
    )
    assert not result.problems, (
        f"{flow} login at {target.base_url} (pre-login id from {result.prelogin_source}): "
        + "; ".join(result.problems)
    )
