"""CI-01: the target's own tests run, passing, within the roadmap's 5 minutes.

The profile names the command (``roadmap.ci.test_command``); it runs in the app service's
environment through the stack, so a fault the stack runs with reaches the tests too.
"""

from __future__ import annotations

import pytest

from harness.probes import owntests
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack


@pytest.mark.control("CI-01")
def test_own_tests_within_budget(target, stack, evidence):
    ci = target.profile.roadmap.ci
    if not ci.test_command:
        raise NotApplicable("the profile names no test command (roadmap.ci.test_command)")
    result = owntests.run(stack, ci.service, ci.test_command, ci.budget_s)
    evidence.json("the target's own tests", result.model_dump(exclude={"output_tail"}))
    evidence.text("test output (tail)", result.output_tail or "(no output)")
    evidence.figure("own tests wall time", result.wall_s, "s")
    if owntests.stopped_before_budget(result):
        raise NotEvaluated(
            f"the stack stopped `{' '.join(ci.test_command)}` after {result.stopped_after_s:g} s, "
            f"before the {ci.budget_s:g} s budget: not timed"
        )
    found = owntests.problems(result)
    assert not found, "; ".join(found)
