"""AUTH-09: password guessing on the local login ends in a lockout or throttling."""

from __future__ import annotations

import pytest

from harness.evidence import Evidence
from harness.loopback import source
from harness.probes.bruteforce import STOPPED, guess
from harness.probes.forwarding import FORWARDING_HEADERS
from harness.profile import Profile
from harness.target import Target
from harness.verdicts import NotApplicable

# At most this many wrong passwords (ASVS 2.2.1 asks for a defence; 10 is already generous).
MAX_ATTEMPTS = 10
# Four source addresses, at most three guesses each: far below any per-address rate limit, so
# what stops the guessing must be tied to the account.
SOURCES = [source(n) for n in range(81, 85)]
# After the lockout, one address per client-chosen forwarding header, so what each shows is
# its own and no per-address limit stands in for the lockout.
HEADER_SOURCES = [(h, source(110 + i)) for i, h in enumerate(FORWARDING_HEADERS)]


@pytest.mark.control("AUTH-09")
def test_password_guessing_is_stopped(profile: Profile, target: Target, evidence: Evidence) -> None:
    auth = profile.auth
    if not auth.lockout_user:
        raise NotApplicable("the profile names no auth.lockout_user (a user the test may lock)")
    user = auth.user(auth.lockout_user)
    if not user.password:
        raise NotApplicable(f"user {user.name!r} has no password: there is no local login")
    if not auth.api_login_path and not auth.login_path:
        raise NotApplicable("the profile names no local login path")
    result = guess(
        target, user, attempts=MAX_ATTEMPTS, sources=SOURCES, vary_headers=HEADER_SOURCES
    )
    evidence.json("login attempts", result.model_dump())
    stopped = result.stopped_at
    final = result.final
    assert final is not None
    plain = [a for a in result.attempts if a.header is None]
    evidence.figure(
        "wrong passwords before the defence",
        (stopped.number - 1) if stopped else len(plain) - 1,
        "attempts",
    )
    assert not final.logged_in, (
        f"after {len(plain) - 1} wrong passwords for {user.name!r} from "
        f"{len(SOURCES)} addresses, the right password still logs in at {result.endpoint} "
        f"(HTTP {final.status}); statuses: {[a.status for a in plain]}: "
        "no account lockout or throttling"
    )
    assert stopped is not None or final.status in STOPPED, (
        f"{len(plain) - 1} wrong passwords for {user.name!r} at {result.endpoint} "
        f"were never answered with 423/429 (statuses {[a.status for a in plain]})"
    )
    bypasses = result.header_bypasses
    assert not bypasses, (
        f"the lockout of {user.name!r} does not hold against a client-chosen header: "
        + "; ".join(
            f"with {a.header}: {a.header_value} the right password logged in (HTTP {a.status})"
            for a in bypasses
        )
        + ": the failed-login counter is keyed on a value the client writes"
    )
