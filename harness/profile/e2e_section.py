"""Browser journeys and the browser-side controls (``[profiles.X.e2e]``).

What a journey does is the target's own knowledge, so journeys are the target's test files
(listed here and run with the e2e suite); the harness only brings the browser, the login and
the judging of every page a journey or the page sweep opens.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.profile.base import Strict

Impact = Literal["minor", "moderate", "serious", "critical"]


class E2ESettings(Strict):
    """Journeys to run and what the browser-side controls accept."""

    journeys: list[str] = Field(
        default_factory=list,
        description="journey test files or folders (relative to harness.toml's folder) that "
        "`harness run --suite e2e` and `pytest suites/e2e` collect with the suite",
    )
    journeys_change_state: bool = Field(
        default=True,
        description="the journeys create or change data; in safe mode they are then "
        "not_evaluated (false: they only read, and run in safe mode too)",
    )
    pages: list[str] | None = Field(
        default=None,
        description="pages the browser sweep opens anonymously and logged in "
        "(default: target.pages)",
    )
    user: str | None = Field(
        default=None,
        description="the profile user whose session the logged-in browser context carries "
        "(default: the first of auth.users)",
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins (scheme://host[:port]) a page may request resources from besides "
        "its own (E2E-03); top-level navigations, such as a login provider's page, are not "
        "third-party requests",
    )
    a11y_fail_impacts: list[Impact] = Field(
        default_factory=lambda: list[Impact](["critical", "serious"]),
        description="axe-core impacts that fail E2E-05 (the others are recorded only)",
    )
    a11y_disabled_rules: list[str] = Field(
        default_factory=list,
        description="axe-core rule ids not run (an accepted, documented exception)",
    )
    expect_timeout_ms: int = Field(
        default=15_000,
        gt=0,
        description="how long a journey's web-first assertions and actions wait on a busy "
        "machine before they fail",
    )
    journey_wait_s: float = Field(
        default=240.0,
        gt=0,
        description="how long E2E-02..05 wait for the journeys of the same run to record "
        "the pages they visited (journeys on another pytest-xdist worker)",
    )
