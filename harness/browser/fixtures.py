"""pytest fixtures for browser journeys, a target's own included.

Import them into the ``conftest.py`` next to your journeys (docs/journeys.md)::

    from harness.browser.fixtures import (  # noqa: F401
        browser_observer,
        harness_browser,
        journey,
        logged_in_page,
    )

``journey`` is the one a test asks for: ``journey.page`` (anonymous), ``journey.logged_in_page()``
(through the profile's auth adapter), ``journey.step(name)``. Every context is egress-guarded
and observed; the visits feed E2E-02..05 of the same run. The names do not collide with
pytest-playwright's ``browser``, ``context`` and ``page``, which launch a browser the harness
does not guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.auth import LoginFactory, Session
from harness.browser import visits
from harness.browser.journey import Journey
from harness.browser.session import Observer
from harness.evidence import Evidence
from harness.guard_browser import GuardedBrowser, guarded_browser
from harness.plugin_state import state_of
from harness.probes.browser import session_credential
from harness.target import Target

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["browser_observer", "harness_browser", "journey", "logged_in_page"]


@pytest.fixture
def harness_browser(target: Target) -> Iterator[GuardedBrowser]:
    """Debian's Chromium behind the profile's egress guard (NotEvaluated when it cannot start)."""
    with guarded_browser(target.guard) as browser:
        yield browser


@pytest.fixture
def browser_observer(harness_browser: GuardedBrowser, target: Target) -> Observer:
    profile = target.profile
    return Observer(
        harness_browser,
        profile.e2e,
        target.safety,
        known_secrets=[u.password for u in profile.auth.users if u.password],
        session_cookie=profile.auth.session_cookie or None,
    )


@pytest.fixture
def journey(
    request: pytest.FixtureRequest,
    target: Target,
    browser_observer: Observer,
    login: LoginFactory,
    evidence: Evidence,
    tmp_path: Any,
) -> Iterator[Journey]:
    """A journey's browser; its visits are shared with E2E-02..05 when it ends."""
    settings = target.profile.e2e
    if target.safety.safe and settings.journeys_change_state:
        target.safety.require_intrusive(
            "a journey that changes data (e2e.journeys_change_state = true)"
        )
    from playwright.sync_api import expect

    expect.set_options(timeout=settings.expect_timeout_ms)
    users = target.profile.auth.users
    default_user = settings.user or (users[0].name if users else None)
    base_url = target.base_url

    def credential(session: Session) -> tuple[list[dict[str, Any]], dict[str, str]]:
        return session_credential(session, base_url)

    made = Journey(
        browser_observer,
        base_url,
        evidence,
        lambda user: login(user),
        credential,
        default_user=default_user,
        timeout_ms=settings.expect_timeout_ms,
    )
    failed_before = request.session.testsfailed
    try:
        yield made
    finally:
        # The call phase's report is counted before fixtures are torn down.
        failed = request.session.testsfailed > failed_before
        made.finish(failed=failed, trace_dir=tmp_path)
        evidence.json("pages visited", [v.model_dump(mode="json") for v in made.visits])
        record = visits.JourneyRecord(
            test=request.node.nodeid, passed=not (failed or made.failed), visits=made.visits
        )
        visits.write(state_of(request.config).ensure_out(), record)


@pytest.fixture
def logged_in_page(journey: Journey) -> Page:
    """A page already logged in as ``e2e.user`` through the profile's auth adapter; its
    journey (``journey``) records its steps and evidence."""
    return journey.logged_in_page()
