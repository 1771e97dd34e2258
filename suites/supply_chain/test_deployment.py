"""SC-04: checkov over the target's container files and Kubernetes manifests: non-root, pinned
bases, health checks, resource limits and a read-only root (the checks of
``supply_chain.deploy_checks``). Other failed checks are recorded in the evidence, not judged."""

from __future__ import annotations

import pytest

from harness.supply_chain.deployfiles import (
    CONTAINER_PATTERNS,
    MANIFEST_PATTERNS,
    scan_deploy_files,
    to_finding,
)
from harness.verdicts import NotApplicable, NotEvaluated


@pytest.mark.control("SC-04")
def test_hardened_deployment_files(supply_chain, evidence):
    settings = supply_chain.settings
    if not settings.containers and not settings.manifests:
        raise NotApplicable(
            "the profile names no container file or manifest "
            "(supply_chain.containers, supply_chain.manifests)"
        )
    containers = supply_chain.view.files(settings.containers, CONTAINER_PATTERNS)
    manifests = supply_chain.view.files(settings.manifests, MANIFEST_PATTERNS)
    if not containers and not manifests:
        raise NotApplicable(
            "none of the container files or manifests the profile names exists: "
            + ", ".join([*settings.containers, *settings.manifests])
        )
    scan = scan_deploy_files(
        supply_chain.scanners, containers, manifests, supply_chain.work("sc-04")
    )
    judged = {check: prop for prop, checks in settings.deploy_checks.items() for check in checks}
    evaluated = {c.id for c in [*scan.failed, *scan.passed]}
    failing = [c for c in scan.failed if c.id in judged]
    # Findings are what fails the control; every other failed check is in the results file.
    for check in failing:
        evidence.finding(to_finding(check, judged[check.id]))
    evidence.json(
        "checkov results",
        {
            "failed": [c.model_dump() for c in scan.failed],
            "passed": len(scan.passed),
            "parsing_errors": scan.parsing_errors,
        },
    )
    unchecked = sorted(p for p, ids in settings.deploy_checks.items() if not evaluated & set(ids))
    unapplied = sorted(judged.keys() - evaluated)
    coverage = (
        f"{len(containers)} container files and {len(manifests)} manifests; "
        f"{len(evaluated & judged.keys())} of {len(judged)} judged checks applied"
        + (f" (not: {', '.join(unapplied)})" if unapplied else "")
        + (f"; properties no check applied to: {', '.join(unchecked)}" if unchecked else "")
    )
    evidence.text(
        "summary",
        f"{supply_chain.note()}\ncheckov on {coverage}\n"
        f"{len(scan.failed)} failed checks, {len(failing)} of them judged\n",
    )
    if scan.parsing_errors:
        raise NotEvaluated(f"checkov could not parse: {', '.join(scan.parsing_errors)}")
    if not evaluated & judged.keys():
        raise NotEvaluated(f"none of the judged checkov checks applied ({coverage})")
    assert not failing, f"{len(failing)} hardening check(s) failed ({coverage}): " + "; ".join(
        f"{judged[c.id]}: {c.id} {c.name} ({c.file}"
        + (f":{c.lines[0]}" if c.lines else "")
        + f", {c.resource})"
        for c in failing
    )
