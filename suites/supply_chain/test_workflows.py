"""SC-05: zizmor and actionlint over the target's CI workflows: actions pinned, permissions
least, no untrusted input in inline scripts."""

from __future__ import annotations

import pytest

from harness.supply_chain.workflows import (
    WORKFLOW_PATTERNS,
    run_actionlint,
    run_zizmor,
    to_finding,
)
from harness.verdicts import NotApplicable


@pytest.mark.control("SC-05")
def test_hardened_ci_workflows(supply_chain, evidence):
    settings = supply_chain.settings
    if not settings.workflows:
        raise NotApplicable("the profile names no CI workflow (supply_chain.workflows)")
    files = supply_chain.view.files(settings.workflows, WORKFLOW_PATTERNS)
    if not files:
        raise NotApplicable(f"no workflow file in {', '.join(settings.workflows)}")
    work = supply_chain.work("sc-05")
    problems = [
        *run_zizmor(supply_chain.scanners, files, work),
        *run_actionlint(supply_chain.scanners, files, work),
    ]
    for problem in problems:
        evidence.finding(to_finding(problem))
    evidence.json("workflow problems", [p.model_dump() for p in problems])
    failing = [p for p in problems if p.failing]
    evidence.text(
        "summary",
        f"{supply_chain.note()}\nzizmor and actionlint on {len(files)} workflow file(s): "
        f"{', '.join(n for n, _ in files)}\n{len(problems)} problems, {len(failing)} failing\n",
    )
    assert not failing, f"{len(failing)} workflow problem(s) in {len(files)} file(s): " + "; ".join(
        f"{p.engine} {p.rule} ({p.severity}) at {p.file}:{p.line}: {p.message}" for p in failing
    )
