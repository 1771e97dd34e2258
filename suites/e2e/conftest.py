"""The e2e suite: the profile's journeys (E2E-01) and the browser-side controls (E2E-02..05).

Journeys are the target's own test files, listed in ``e2e.journeys``; this conftest adds them
to the run when the whole suite is asked for, so ``harness run --suite e2e`` and
``pytest suites/e2e`` run them with the suite (``pytest suites/e2e/test_browser_side.py`` does not),
and puts them first so the browser-side controls, which judge every page a journey visited,
find their records (on another xdist worker they wait for them, bounded by
``e2e.journey_wait_s``). ``browser_sweep`` opens every profile page once per process.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from harness.auth import AuthError
from harness.auth import login as auth_login
from harness.browser.fixtures import (  # noqa: F401
    browser_observer,
    harness_browser,
    journey,
    logged_in_page,
)
from harness.browser.journeys import JOURNEY_FIXTURE, SweepRun, journey_paths, run_sweep
from harness.plugin_state import state_of
from harness.profile import find_config
from harness.pytest_stack import holding
from harness.target import Target


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    profile = state_of(session.config).profile
    if profile is None:
        return
    here = Path(__file__).resolve().parent
    asked = [Path(a.split("::")[0]).resolve() for a in session.config.args]
    if not any(here.is_relative_to(path) for path in asked):
        return  # one file or test of the suite was asked for, not the suite
    base = find_config().resolve().parent
    known = {str(path) for path in asked}
    for path in journey_paths(profile.e2e.journeys, base):
        if str(path) not in known:
            session.config.args.append(str(path))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Journeys first (a stable partition): their records are what E2E-02..05 wait for.
    journeys = [i for i in items if isinstance(i, pytest.Function) and _is_journey(i)]
    if journeys:
        items[:] = journeys + [i for i in items if i not in journeys]


def _is_journey(item: pytest.Function) -> bool:
    return JOURNEY_FIXTURE in item.fixturenames


@pytest.fixture(scope="session")
def browser_sweep(target: Target) -> SweepRun:
    """Every profile page, anonymously and as ``e2e.user``; the browser is closed after."""
    # Under the stack's shared lock: a session fixture is set up before the per-test lock, and a
    # disruptive test on another worker restarting the app mid-sweep showed up as 502s (E2E-02)
    # and as error pages without a title (E2E-05) in a loaded clean run.
    with contextlib.ExitStack() as held:
        if target.stack is not None:
            held.enter_context(holding(target.stack))
        return run_sweep(target, lambda user: auth_login(target, user), AuthError)
