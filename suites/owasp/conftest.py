"""Shared fixtures of the OWASP suite (auth and security controls).

``login`` is a factory: ``login("alice")``, ``login("carol", flow="api")``,
``login(flow="none")``; every session it makes is closed after the test. The same function is
``harness.auth.login(target, ...)`` for other suites and scripts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from harness.auth import LoginFactory, Session
from harness.auth import login as _login
from harness.target import Target


@pytest.fixture
def login(target: Target) -> Iterator[LoginFactory]:
    made: list[Session] = []

    def factory(user_name: str | None = None, flow: str | None = None, **kwargs: Any) -> Session:
        # Each session from its own loopback address: logins of parallel tests then do not
        # share one per-IP login rate limit (the suites' own bursts use 127.0.0.x).
        kwargs.setdefault("local_address", f"127.0.1.{random.randint(1, 254)}")  # noqa: S311
        session = _login(target, user_name, flow, **kwargs)
        made.append(session)
        return session

    yield factory
    for session in made:
        session.close()
