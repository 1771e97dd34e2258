"""SEC-15: rotating the encryption key under traffic keeps stored provider tokens usable.

Needs a rotation command from the profile (``operations.rotate_keys``, an argv run in the app
service through ``stack.exec``); without it the control does not apply. The prober
(harness.drills.prober) runs over the rotation as it does over the resilience drills: reads
(liveness, ``resilience.release_path``, ``auth.me_path``) and, logged in, the operation that
can only be served by decrypting the stored provider token. Judged: no more failed requests
than ``resilience.error_budget`` from the rotation's start to the end of the steady state after
it, the tokens stored before the rotation still usable after it, and a fresh login's too.

The stored tokens are checked on two sessions: the prober's own, and a second user's (the
profile's next user) that logs in just before the rotation and sends nothing until after it.
The prober's session refreshes its token while the rotation runs, so its row may be rewritten
under the new key before the rotation re-encrypts it; only the resting session's token is
certainly one the rotation had to carry over.
Disruptive: the key ring changes under every other test.
"""

from __future__ import annotations

import pytest

from harness.auth import AuthError
from harness.auth import login as do_login
from harness.drills import drill_evidence
from harness.drills.prober import ProbeCall, Prober, figures, window
from harness.drills.traffic_frame import Drill
from harness.loopback import source
from harness.probes.bounded import as_response, fetch
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(91)
RESTING_SOURCE = source(92)  # its own address: the auth routes' rate limits count per address
# The steady state before the rotation and after it: long enough for a few provider calls.
STEADY_S = 1.5
# The provider operation calls the provider and sits on the auth routes, whose per-address rate
# limits are tight (a few requests a second at most): paced well below them, a 429 does not
# stand in for what the rotation did.
PROVIDER_INTERVAL_S = 1.0


def _provider_operation(target):
    """A POST the app can only serve by decrypting the stored provider token (refresh)."""
    for path, item in (target.openapi.get("paths") or {}).items():
        if "refresh" in path and "post" in item:
            return "POST", path
    return None


@pytest.mark.disruptive
@pytest.mark.control("SEC-15")
def test_key_rotation_keeps_tokens_readable(target, stack, evidence, tmp_path):
    profile = target.profile
    command = profile.operations.rotate_keys
    if not command:
        raise NotApplicable("the profile names no key rotation command (operations.rotate_keys)")
    if profile.auth.flow != "oauth-pkce":
        raise NotApplicable("no provider tokens are stored (auth.flow is not oauth-pkce)")
    operation = _provider_operation(target)
    if operation is None:
        raise NotApplicable(
            "the OpenAPI document has no operation that uses the stored "
            "provider token (a POST with 'refresh' in its path)"
        )
    method, path = operation
    others = [u.name for u in profile.auth.users[1:]]
    resting_user = others[0] if others else None
    settings = profile.resilience
    budget = settings.error_budget
    session = do_login(target, local_address=SOURCE)
    resting = None
    try:
        before = fetch(
            session.client, method, path, total_s=10, headers=session.headers_for_write()
        )
        evidence.http(as_response(before), title="provider operation before rotation")
        assert 200 <= before.status < 300, (
            f"{method} {path} fails before any rotation (HTTP {before.status}): the check "
            "cannot tell what rotation breaks"
        )
        calls = [ProbeCall(path=profile.target.live_path)]
        if settings.release_path:
            calls.append(
                ProbeCall(path=settings.release_path, release_field=settings.release_field)
            )
        if profile.auth.me_path:
            calls.append(ProbeCall(path=profile.auth.me_path))
        calls.append(
            ProbeCall(kind="write", method=method, path=path, min_interval_s=PROVIDER_INTERVAL_S)
        )
        # The prober's requests also keep the session from idling out over the rotation.
        prober = Prober(
            lambda m, p, kw: session.request(m, p, **kw),
            calls,
            interval_s=settings.prober_interval_s,
        )
        drill = Drill("key rotation", prober)
        if resting_user is None:
            drill.report.notes.append(
                "one user in the profile: only the prober's own session's token was checked, and "
                "it refreshes over the rotation (a second auth.users entry adds a resting session)"
            )
        with prober:
            steady = drill.steady("before", STEADY_S, budget)
            if not steady.held:
                raise NotEvaluated(
                    f"the steady state did not hold before the rotation: {steady.detail}"
                )
            if resting_user:
                # Logged in as late as possible: it must not idle out before its one request.
                try:
                    resting = do_login(target, resting_user, local_address=RESTING_SOURCE)
                except AuthError as exc:
                    drill.report.notes.append(
                        f"no resting session: {resting_user} could not log in ({exc}); only the "
                        "prober's own session's token was checked"
                    )
            began = prober.now()
            with drill.step("rotate keys"):
                result = stack.exec(profile.target.app_service, list(command))
            rotation_s = prober.now() - began
            settled = drill.steady("after the rotation", STEADY_S, budget)
        over = figures(window(prober.samples, began))
        provider = figures([s for s in window(prober.samples, began) if s.path == path])
        after = fetch(session.client, method, path, total_s=10, headers=session.headers_for_write())
        evidence.http(
            as_response(after),
            title="provider operation after rotation (old "
            "token, re-encrypted or under the old key)",
        )
        rested = None
        if resting is not None:
            rested = fetch(
                resting.client, method, path, total_s=10, headers=resting.headers_for_write()
            )
            evidence.http(
                as_response(rested),
                title=f"provider operation after rotation, {resting_user}'s session that rested "
                "over it",
            )
    finally:
        session.close()
        if resting is not None:
            resting.close()
    evidence.text(
        "rotation command",
        f"$ {' '.join(command)}\nexit {result.returncode}\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
    )
    # New writes: a new login stores tokens under the new primary key, and they work too.
    fresh = do_login(target, local_address=SOURCE)
    try:
        new = fetch(fresh.client, method, path, total_s=10, headers=fresh.headers_for_write())
        evidence.http(as_response(new), title="provider operation for a login after rotation")
    finally:
        fresh.close()
    drill.report.figures = {
        "prober requests over the rotation": over.requests,
        "failed prober requests over the rotation": over.failed,
        "provider operations over the rotation": provider.requests,
        "failed provider operations over the rotation": provider.failed,
        "longest gap over the rotation": over.longest_gap_s,
        "rotation time": round(rotation_s, 3),
    }
    drill_evidence.attach(
        evidence,
        drill,
        tmp_path,
        units={
            "prober requests over the rotation": "requests",
            "failed prober requests over the rotation": "requests",
            "provider operations over the rotation": "requests",
            "failed provider operations over the rotation": "requests",
        },
    )
    assert result.returncode == 0, (
        f"rotation command {command} failed with exit {result.returncode}: {result.stderr[-300:]}"
    )
    problems: list[str] = []
    # A 429 is the target's rate limit, not the rotation: it is not counted as a failure, and
    # a request it refused proves nothing either way (not_evaluated below, if nothing failed).
    limited = over.failed_by_status.get("429", 0)
    if over.failed - limited > budget:
        by_status = ", ".join(f"{k}: {v}" for k, v in over.failed_by_status.items())
        problems.append(
            f"{over.failed - limited} of {over.requests} prober requests failed during and "
            f"after the rotation (error budget {budget}; {by_status}; {provider.failed} of "
            f"{provider.requests} were {method} {path})"
        )
    if not 200 <= after.status < 300 and after.status != 429:
        problems.append(
            f"after key rotation {method} {path} with the tokens stored before it answers HTTP "
            f"{after.status}: stored tokens are no longer readable ({after.body[:200]!r})"
        )
    lapsed = rested is not None and rested.status in (401, 403)
    if (
        rested is not None
        and not lapsed
        and not 200 <= rested.status < 300
        and rested.status != 429
    ):
        problems.append(
            f"after key rotation {method} {path} for {resting_user}, whose token was stored "
            f"before it and not used since, answers HTTP {rested.status}: stored tokens are no "
            f"longer readable ({rested.body[:200]!r})"
        )
    if not 200 <= new.status < 300 and new.status != 429:
        problems.append(
            f"after key rotation a fresh login's {method} {path} answers HTTP {new.status}"
        )
    assert not problems, "; ".join(problems)
    assert settled.held or settled.figures.failed_by_status.get("429") == settled.figures.failed, (
        f"the steady state did not hold after the rotation: {settled.detail}"
    )
    if lapsed:
        raise NotEvaluated(
            f"{resting_user}'s session, logged in just before the rotation, was refused after it "
            f"(HTTP {rested.status}; its idle timeout?): the tokens of a session that rested over "
            "the rotation were not checked"
        )
    refused = (
        limited
        + (after.status == 429)
        + (new.status == 429)
        + (rested is not None and rested.status == 429)
    )
    if refused:
        raise NotEvaluated(
            f"the target rate-limited {refused} request(s) over the rotation (HTTP 429): whether "
            "the stored tokens stayed readable for them is unknown"
        )
