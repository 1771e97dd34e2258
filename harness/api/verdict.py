"""A campaign's failures for one control -> evidence and a verdict.

Every failure is reproduced in evidence as a curl command and a cassette (the request and
response as exchanged). The verdict says what was covered ("checked 24 of 26 operations,
812 requests in 41 s"): a clean walk that left operations out for the safety mode is
``not_evaluated``, never a pass, and a walk that checked nothing is not a pass either.
"""

from __future__ import annotations

import pytest

from harness.api.model import Campaign, Problem
from harness.evidence import Evidence
from harness.verdicts import NotEvaluated

SHOWN = 8  # problems reproduced in evidence per control; the rest are listed


def record(evidence: Evidence, problems: list[Problem]) -> None:
    for problem in problems[:SHOWN]:
        title = f"{problem.operation}: {problem.title}"
        evidence.text(
            f"reproduce {title}", f"# {problem.check}: {problem.message}\n{problem.curl}\n"
        )
        evidence.json(f"cassette {title}", problem.cassette)
    if len(problems) > SHOWN:
        evidence.json(
            "further failures",
            [p.model_dump(exclude={"cassette"}) for p in problems[SHOWN:]],
        )


def judge(campaign: Campaign, control: str, evidence: Evidence, claim: str) -> None:
    """Fail with the control's problems, else pass, unless coverage does not allow a pass."""
    coverage = campaign.coverage()
    evidence.text("coverage", coverage + ("\n" + "\n".join(campaign.unanswered[:50])))
    evidence.figure("operations fuzzed", len(campaign.operations_checked), "operations")
    evidence.figure("requests sent", campaign.requests, "requests")
    evidence.figure("fuzzing wall time", round(campaign.seconds, 1), "s")
    problems = campaign.for_control(control)
    if problems:
        record(evidence, problems)
        names = sorted({f"{p.operation} ({p.title})" for p in problems})
        shown = "; ".join(names[:5]) + ("" if len(names) <= 5 else f"; {len(names) - 5} more")
        pytest.fail(f"{len(problems)} failure(s): {shown} ({coverage})", pytrace=False)
    if not campaign.operations_checked or not campaign.answered:
        raise NotEvaluated(f"no operation could be fuzzed ({coverage})")
    held = [name for name, why in campaign.skipped.items() if "needs safety" in why]
    if held:
        raise NotEvaluated(
            f"needs safety = intrusive ({coverage}; {len(held)} need safety = intrusive; "
            f"{claim} on what was checked)"
        )
    evidence.text("verdict", f"{claim} ({coverage})")
