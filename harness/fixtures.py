"""Fixtures every suite shares, provided by the installed pytest plugin.

``login`` is a factory: ``login("alice")``, ``login("carol", flow="api")``,
``login(flow="none")``; every session it makes is closed after the test. The same function is
``harness.auth.login(target, ...)`` for scripts. ``harness.pytest_stack`` (a ``pytest11``
entry point) re-exports these, so ``pytest suites/...`` from the checkout and the installed
plugin see the same fixtures.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.auth import AuthError, LoginFactory, Session
from harness.auth import login as _login
from harness.loopback import source
from harness.target import Target

__all__ = ["login"]


@pytest.fixture
def login(target: Target) -> Iterator[LoginFactory]:
    """Sessions for the profile's users, closed after the test."""
    made: list[Session] = []

    def factory(user_name: str | None = None, flow: str | None = None, **kwargs: Any) -> Session:
        # Each session from its own loopback address: logins of parallel tests then do not
        # share one per-IP login rate limit (harness.loopback: slot 1 is the logins').
        kwargs.setdefault("local_address", source(1, random.randint(1, 254)))  # noqa: S311
        try:
            session = _login(target, user_name, flow, **kwargs)
        except AuthError:
            # A login is these tests' precondition, not their subject: one retry absorbs a
            # target's first-login race (concurrent first logins of one user) without hiding
            # a login that never works. AUTH controls judge logins themselves.
            time.sleep(0.5)
            session = _login(target, user_name, flow, **kwargs)
        made.append(session)
        return session

    yield factory
    for session in made:
        session.close()
