"""Shared fixtures of the observability suite.

``obs`` is the profile's ``observability`` section; ``app_log`` captures the target's log from
a mark (``app_log.lines()``), so a test judges only what happened since it started; ``login``
makes sessions that are closed after the test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.auth import AuthError, Session
from harness.auth import login as _login
from harness.logs import LogCapture
from harness.profile import ObservabilitySettings
from harness.target import Target


@pytest.fixture
def obs(target: Target) -> ObservabilitySettings:
    return target.profile.observability


@pytest.fixture
def app_log(target: Target) -> LogCapture:
    return LogCapture(target)


@pytest.fixture
def login(target: Target) -> Iterator[Callable[..., Session]]:
    made: list[Session] = []

    def factory(user_name: str | None = None, flow: str | None = None, **kwargs: Any) -> Session:
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
