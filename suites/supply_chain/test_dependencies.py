"""SC-02: pip-audit over the target's pinned requirements files: no dependency with a known
advisory. The advisories come from the profile's offline mirror (``supply_chain.advisories``)
when it names one, else from pip-audit's public service; unreachable is not_evaluated."""

from __future__ import annotations

import contextlib

import pytest

from harness.supply_chain.advisories import AdvisoryError, serve_mirror
from harness.supply_chain.deps import audit_file, to_finding
from harness.verdicts import NotApplicable, NotEvaluated


@pytest.mark.control("SC-02")
def test_no_known_vulnerable_dependencies(supply_chain, evidence):
    settings = supply_chain.settings
    if not settings.dependencies:
        raise NotApplicable("the profile names no dependency file (supply_chain.dependencies)")
    missing = supply_chain.view.missing(settings.dependencies)
    present = [d for d in settings.dependencies if d not in missing]
    if not present:
        raise NotApplicable(f"no dependency file the profile names exists: {', '.join(missing)}")
    work = supply_chain.work("sc-02")
    with contextlib.ExitStack() as held:
        mirror = None
        source = "pip-audit's public OSV service"
        if settings.advisories:
            folder = supply_chain.view.path(settings.advisories)
            try:
                host, port, count = held.enter_context(serve_mirror(folder))
            except AdvisoryError as exc:
                raise NotEvaluated(f"the offline advisory mirror cannot be used: {exc}") from None
            mirror = (host, port)
            source = f"the offline advisory mirror {settings.advisories} ({count} OSV records)"
        results = [
            audit_file(supply_chain.scanners, name, supply_chain.view.path(name), work, mirror)
            for name in present
        ]
    vulnerable = [v for r in results for v in r.vulnerable]
    for result in results:
        evidence.json(f"pip-audit {result.file}", result.report)
    for item in vulnerable:
        evidence.finding(to_finding(item))
    packages = sum(r.packages for r in results)
    skipped = [s for r in results for s in r.skipped]
    evidence.text(
        "summary",
        f"{supply_chain.note()}\nadvisories from {source}\naudited {packages} pinned packages "
        f"in {len(present)} file(s): {', '.join(present)}"
        + (f"; not found: {', '.join(missing)}" if missing else "")
        + (f"\nskipped by pip-audit: {'; '.join(skipped)}" if skipped else "")
        + f"\n{len(vulnerable)} known advisories\n",
    )
    assert not vulnerable, (
        f"{len(vulnerable)} known advisories in {packages} pinned packages "
        f"(checked {len(present)} of {len(settings.dependencies)} dependency files): "
        + "; ".join(f"{v.package} {v.version}: {v.advisory.id} ({v.file})" for v in vulnerable)
    )
