"""API-05 account enumeration: login, registration and reset answer alike for an existing
account and unknown ones (status, body and timing)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import httpx
import pytest

from harness.api.enumeration import Attempt, Comparison, Sampling, sample
from harness.api.enumeration_endpoints import (
    ClientFor,
    account_operations,
    form_login,
    json_login,
    operation_attempt,
)
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.loopback import source
from harness.profile import Profile, User
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated

# Own source addresses (slot 150): these logins must not eat other tests' per-IP login budget,
# and rotating over several keeps a round below a per-IP login rate limit.
SLOT = 150
ADDRESSES = 6


@pytest.fixture
def clients(target: Target) -> Iterator[ClientFor]:
    made = [target.client(local_address=source(SLOT, n)) for n in range(1, ADDRESSES + 1)]
    for client in made:
        # Connect (and shake hands) before any attempt is timed: otherwise the attempts that
        # happen to use a client first pay for it, and timing compares connections.
        with contextlib.suppress(httpx.HTTPError):
            client.get(target.profile.target.live_path or "/")
    turn = itertools.cycle(made)
    yield lambda: next(turn)
    for client in made:
        client.close()


def _account(profile: Profile) -> User:
    """The first user with a password other than the lockout user: AUTH-09 locks that one out
    and counts its failures, and this test's right-password logins (which clear a failure
    count) must not meddle with that. Two failures in a row never lock an account."""
    auth = profile.auth
    if auth.flow in ("none", "anonymous-cookie"):
        raise NotApplicable(f"auth.flow is {auth.flow!r}: the target has no accounts")
    users = [u for u in auth.users if u.password]
    chosen = [u for u in users if u.name != auth.lockout_user] or users
    if not chosen:
        raise NotApplicable("no user of auth.users has a password to log in with")
    return chosen[0]


# At most two failures in a row for the existing account (a right-password login between
# rounds clears them): below any lockout threshold worth the name.
LOGIN_PLAN = Sampling(rounds=4, per_round=2)


def _record(evidence: Evidence, target: Target, where: str, result: Comparison) -> None:
    evidence.json(f"{where} answers", result.model_dump())
    if result.timing_difference_ms is not None:
        evidence.figure(f"{where} timing difference", result.timing_difference_ms, "ms")
    for leak in result.leaks:
        evidence.finding(
            Finding(
                rule="probe:account-enumeration",
                title=f"{where} tells an existing account from an unknown one",
                severity=Severity.MEDIUM,
                confidence=Confidence.CONFIRMED
                if not leak.startswith("timing")
                else Confidence.MEDIUM,
                control="API-05",
                cwe=204,
                owasp="A07",
                method="POST",
                url=target.url(where.split(" ", 1)[-1]),
                evidence=leak,
            )
        )


def _verdict(results: list[Comparison]) -> None:
    leaks = [f"{r.endpoint}: {leak}" for r in results for leak in r.leaks]
    assert not leaks, "answers tell existing accounts from unknown ones: " + " | ".join(leaks)
    judged = [r for r in results if r.compared]
    if not judged:
        raise NotEvaluated(
            "every attempt was throttled or locked out (HTTP 423/429): nothing to compare"
        )


@pytest.mark.control("API-05")
def test_login_answers_alike_for_existing_and_unknown_accounts(
    profile: Profile, target: Target, clients: ClientFor, evidence: Evidence
) -> None:
    auth = profile.auth
    user = _account(profile)
    attempts: list[tuple[str, Attempt]] = []
    if auth.api_login_path:
        attempts.append((f"POST {auth.api_login_path}", json_login(clients, auth)))
    if auth.flow == "form":
        attempts.append((f"POST {auth.login_path}", form_login(clients, auth)))
    if not attempts:
        raise NotApplicable(
            f"no password login to compare: auth.api_login_path is unset and auth.flow is "
            f"{auth.flow!r} (the form login is compared when auth.flow = 'form')"
        )
    results: list[Comparison] = []
    lines: list[str] = []
    for where, attempt in attempts:
        proofs: list[int] = []

        def reset(attempt: Attempt = attempt, proofs: list[int] = proofs) -> None:
            # The right password: proves the account exists here, and clears its failures.
            proofs.append(attempt(user.name, user.password).status)

        result = sample(where, attempt, user.name, reset=reset, plan=LOGIN_PLAN)
        failures = {o.status for o in result.existing}
        if not proofs or all(s >= 400 or s in failures for s in proofs):
            raise NotEvaluated(
                f"{where}: {user.name!r} could not log in with its password (HTTP {proofs}): "
                "the answers would not compare an existing account with unknown ones"
            )
        _record(evidence, target, where, result)
        results.append(result)
        diff = result.timing_difference_ms
        lines.append(
            f"{where}: {len(result.existing)} attempts as {user.name!r}, "
            f"{len(result.unknown)} as unknown names, {result.throttled} throttled; timing "
            + (f"difference {diff:+.1f} ms" if diff is not None else "not measured")
            + (f" ({result.timing_note})" if result.timing_note else "")
        )
    evidence.text("summary", "\n".join(lines))
    print("API-05: " + "; ".join(lines))
    _verdict(results)


@pytest.mark.control("API-05")
def test_registration_and_reset_answer_alike_for_existing_and_unknown_accounts(
    profile: Profile, target: Target, clients: ClientFor, evidence: Evidence
) -> None:
    user = _account(profile)
    found = target.operations()
    evidence.text("operations", found.note)
    accounts = account_operations(found.operations, profile.auth)
    if not accounts:
        raise NotApplicable(
            f"no registration or password-reset operation among the target's operations "
            f"({found.note}): POST paths naming register/signup/reset/forgot/recover with a "
            "field that names the account"
        )
    held: list[str] = []
    results: list[Comparison] = []
    for account in accounts:
        refused = target.safety.hold("POST", target.url(account.op.path))
        if refused is not None:
            held.append(f"{account.op.key} ({refused.reason})")
            continue
        attempt = operation_attempt(clients, account, profile.auth.password_field, {})
        where = f"{account.kind} {account.op.path}"
        result = sample(where, attempt, user.name, plan=Sampling(rounds=2, per_round=2))
        _record(evidence, target, where, result)
        results.append(result)
    leaks = [f"{r.endpoint}: {leak}" for r in results for leak in r.leaks]
    assert not leaks, "answers tell existing accounts from unknown ones: " + " | ".join(leaks)
    if held:
        raise NotEvaluated(
            "needs safety = intrusive (registration and reset are writes: " + "; ".join(held) + ")"
        )
    _verdict(results)
