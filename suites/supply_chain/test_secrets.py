"""SC-06: detect-secrets over the target's source tree: no committed secret."""

from __future__ import annotations

import pytest

from harness.supply_chain.committed_secrets import scan_secrets, to_finding
from harness.verdicts import NotEvaluated


@pytest.mark.control("SC-06")
def test_no_committed_secrets(supply_chain, evidence):
    tree, files = supply_chain.staged_source("SC-06")
    if not files:
        raise NotEvaluated(f"the source tree {supply_chain.settings.source} holds no file")
    secrets, plugins = scan_secrets(supply_chain.scanners, tree, supply_chain.work("sc-06"))
    for secret in secrets:
        evidence.finding(to_finding(secret))
    # Locations and kinds only: the values never leave the tool.
    evidence.json("secrets found", [s.model_dump() for s in secrets])
    evidence.text(
        "summary",
        f"{supply_chain.note()}\ndetect-secrets ({len(plugins)} detectors) on {len(files)} files "
        f"of {supply_chain.settings.source}: {len(secrets)} secrets\n",
    )
    assert not secrets, f"{len(secrets)} committed secret(s) in {len(files)} files: " + "; ".join(
        f"{s.type} at {s.file}:{s.line}" for s in secrets
    )
