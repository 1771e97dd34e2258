"""Shared fixtures of the OWASP suite (auth and security controls).

``login`` is a factory: ``login("alice")``, ``login("carol", flow="api")``,
``login(flow="none")``; every session it makes is closed after the test. The same function is
``harness.auth.login(target, ...)`` for other suites and scripts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.auth import Session
from harness.auth import login as _login
from harness.target import Target

LoginFactory = Callable[..., Session]


@pytest.fixture
def login(target: Target) -> Iterator[LoginFactory]:
    made: list[Session] = []

    def factory(user_name: str | None = None, flow: str | None = None, **kwargs: Any) -> Session:
        session = _login(target, user_name, flow, **kwargs)
        made.append(session)
        return session

    yield factory
    for session in made:
        session.close()
