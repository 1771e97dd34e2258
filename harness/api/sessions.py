"""The campaign's sessions: every user of the profile logged in, each on its own source address.

Fuzzing as every user of the profile (in turn, per operation) lets the checks that compare
identities run, and spreads the requests over several source addresses so a per-client rate
limit of the target does not turn the campaign into a stream of 429s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness.api.transport import GuardedSession
from harness.auth import AuthError, login
from harness.auth.session import Session
from harness.loopback import source
from harness.target import Target
from harness.verdicts import NotEvaluated

RENEW_HOSTS = 100  # renewal logins use hosts 101.. of the login slot


@contextmanager
def user_sessions(
    target: Target, login_slot: int, send_slot: int, per_user: int = 2
) -> Iterator[list[GuardedSession]]:
    """Guarded sessions of every profile user (anonymous when the profile has none or the
    flow is ``none``), ``per_user`` source addresses each; closed on exit."""
    auth = target.profile.auth
    names = [user.name for user in auth.users] if auth.flow != "none" else []
    logged: list[Session] = []
    guarded: list[GuardedSession] = []
    try:
        failures: list[str] = []
        users: list[str] = []
        for number, name in enumerate(names, 1):
            session = login_user(target, name, source(login_slot, number), failures)
            if session is not None:
                logged.append(session)
                users.append(name)
        if names and not logged:
            raise NotEvaluated(f"no user of the profile could log in: {'; '.join(failures)}")
        host = 1
        for index, credential in enumerate([*logged] or [None]):
            for _ in range(per_user):
                # Renewals log in from an address of their own (login rate limits are per client).
                address = source(login_slot, RENEW_HOSTS + host)
                relogin = (
                    (
                        lambda name=users[index], address=address: login_user(  # type: ignore[misc]
                            target, name, address, failures
                        )
                    )
                    if credential is not None
                    else None
                )
                guarded.append(
                    GuardedSession(
                        target,
                        source_address=source(send_slot, host),
                        credential=credential,
                        relogin=relogin,
                    )
                )
                host += 1
        yield guarded
    finally:
        for sender in guarded:
            sender.close()
        for credential in logged:
            credential.close()


def login_user(target: Target, name: str, address: str, failures: list[str]) -> Session | None:
    """``name`` logged in with the profile's flow, else through its JSON login route (a user
    the OAuth provider does not know may still be a local account); None when neither works."""
    flows: list[str | None] = [None]
    if target.profile.auth.api_login_path and target.profile.auth.flow != "api":
        flows.append("api")
    for flow in flows:
        try:
            return login(target, name, flow, local_address=address)
        except AuthError as exc:
            failures.append(f"{name} ({flow or target.profile.auth.flow}): {exc}"[:200])
    return None
