"""E2E-01's bookkeeping: the profile's journeys were collected into this run.

The journeys themselves (the target's own tests, ``e2e.journeys``) carry ``E2E-01`` and decide
it; this test only makes a profile without journeys say so, and one whose listed journeys
collected no E2E-01 test fail instead of passing on nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.browser.journeys import JOURNEY_FIXTURE, journey_paths
from harness.plugin import item_controls
from harness.profile import find_config
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack


@pytest.mark.control("E2E-01")
def test_journeys_are_collected(request, target, evidence):
    listed = target.profile.e2e.journeys
    if not listed:
        raise NotApplicable(
            "the profile lists no journeys (e2e.journeys): write one for your app "
            "(docs/journeys.md)"
        )
    asked = {str(Path(a.split("::")[0]).resolve()) for a in request.config.args}
    paths = journey_paths(listed, find_config().resolve().parent)
    if not any(str(path) in asked for path in paths):
        raise NotEvaluated(
            "the journeys run with the whole suite (pytest suites/e2e, harness run --suite e2e); "
            "this run asked for part of it"
        )
    collected = [
        item.nodeid
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and JOURNEY_FIXTURE in item.fixturenames
        and "E2E-01" in item_controls(item)
    ]
    evidence.json("journeys", {"listed": listed, "collected": collected})
    assert collected, (
        f"e2e.journeys lists {', '.join(listed)} but no test there uses the journey fixture "
        "and carries the E2E-01 control"
    )
