"""SC-01: bandit over the target's source tree; a high-severity, high-confidence finding that
the profile's baseline (``supply_chain.sast_baseline``) does not accept fails."""

from __future__ import annotations

import pytest

from harness.supply_chain.sast import run_bandit, to_finding
from harness.verdicts import NotEvaluated


@pytest.mark.control("SC-01")
def test_no_new_high_sast_findings(supply_chain, evidence):
    tree, files = supply_chain.staged_source("SC-01")
    baseline = supply_chain.settings.sast_baseline
    result = run_bandit(
        supply_chain.scanners,
        tree,
        supply_chain.work("sc-01"),
        supply_chain.view.path(baseline) if baseline else None,
    )
    evidence.json("bandit report", result.report)
    if result.files_scanned == 0:
        raise NotEvaluated(f"bandit scanned no Python file of {len(files)} files in the tree")
    failing = [i for i in result.new if i.failing()]
    # Findings are what fails the control; the rest are in the bandit report.
    for issue in failing:
        evidence.finding(to_finding(issue, tree))
    evidence.text(
        "summary",
        f"{supply_chain.note()}\nbandit scanned {result.files_scanned} Python files of "
        f"{len(files)} in {supply_chain.settings.source}: {len(result.issues)} findings, "
        f"{result.accepted} accepted by the baseline, {len(failing)} new of high severity "
        "and high confidence\n",
    )
    assert not failing, (
        f"{len(failing)} new high-severity, high-confidence bandit finding(s) in "
        f"{supply_chain.settings.source}: "
        + "; ".join(f"{i.test_id} {i.issue_text} ({to_finding(i, tree).url})" for i in failing)
    )
