"""Shared fixtures of the API suite: one fuzzing campaign per session.

API-01 (server errors), API-02 (conformance) and the fuzzing checks of API-06 and API-09 judge
the same responses, so the campaign runs once and each control reads its own failures.
"""

from __future__ import annotations

import contextlib

import pytest

from harness.api.actors import Actor, excluded, probe_user
from harness.api.model import Campaign
from harness.api.run import run_campaign
from harness.api.sessions import user_sessions
from harness.auth import LoginFactory
from harness.evidence import Evidence
from harness.profile import Profile
from harness.pytest_stack import holding
from harness.target import Target

# Loopback slots of this suite (harness.loopback): logins, fuzzing.
LOGIN_SLOT = 140
FUZZ_SLOT = 141


@pytest.fixture(scope="session")
def api_campaign(target: Target) -> Campaign:
    """The fuzzing campaign over the target's OpenAPI document (NotApplicable without one)."""
    document = target.openapi
    # Under the stack's shared lock: a session fixture is set up before the per-test lock, and
    # a disruptive test on another worker must not stop the database mid-campaign.
    with contextlib.ExitStack() as held:
        if target.stack is not None:
            held.enter_context(holding(target.stack))
        with user_sessions(target, LOGIN_SLOT, FUZZ_SLOT) as sessions:
            return run_campaign(target, document, sessions)


@pytest.fixture
def actor(profile: Profile, target: Target, login: LoginFactory, evidence: Evidence) -> Actor:
    """API-03/04/05/07's common start: the profile's probe user logged in, and the operations it
    may call (those that log in or out are left out: they would end the probe's session)."""
    user = probe_user(profile)
    session = login(user)
    found = target.operations(session.client)
    evidence.text("operations", found.note)
    skip = excluded(profile)
    return Actor(user, session, found, [op for op in found.operations if not skip(op)])
