"""E2E-02..05: what the browser sees on every profile page and every page a journey visited.

The visits come from the page sweep (``browser_sweep``: each page of ``e2e.pages`` or
``target.pages``, anonymously and as ``e2e.user``) and from the journeys of the same run
(``harness.browser.journeys.gather``). Each control judges the visits it can: a visit whose
storage could not be read or that axe did not run on is not counted as a pass.
"""

from __future__ import annotations

import pytest

from harness.browser import judge
from harness.browser.journeys import Gathered, SweepRun, gather
from harness.evidence import Evidence
from harness.guard_browser import third_party_finding
from harness.plugin_state import state_of
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SCREENSHOTS = 3  # of the sweep, per control: the report stays readable


@pytest.fixture
def visits(request: pytest.FixtureRequest, target: Target, browser_sweep: SweepRun) -> Gathered:
    out = state_of(request.config).ensure_out()
    gathered = gather(request, browser_sweep, out, target.profile.e2e.journey_wait_s)
    if not gathered.visits:
        raise NotApplicable(
            "nothing ran in a browser: the profile lists no pages (e2e.pages, target.pages) "
            "and no journey of this run recorded a visit (e2e.journeys)"
        )
    return gathered


def _report(
    evidence: Evidence,
    run: SweepRun,
    gathered: Gathered,
    verdict: judge.Judgement,
    what: str,
) -> None:
    """Evidence common to the four controls, then the verdict."""
    evidence.text("coverage", gathered.coverage)
    for shot in run.result.screenshots[:SCREENSHOTS]:
        evidence.screenshot(shot.png, shot.title)
    if run.result.notes:
        evidence.text("sweep notes", "\n".join(run.result.notes))
    if verdict.notes:
        evidence.text("recorded, not failing", "\n".join(verdict.notes[:200]))
    evidence.figure("page visits judged", verdict.judged, "visits")
    if verdict.judged == 0:
        raise NotEvaluated(f"no visit could be judged for {what} ({gathered.coverage})")
    if verdict.failed:
        pytest.fail(
            f"{len(verdict.problems)} {what} on {verdict.judged} visit(s):\n"
            + "\n".join(verdict.problems[:30]),
            pytrace=False,
        )


@pytest.mark.control("E2E-02")
def test_no_console_errors_or_csp_violations(browser_sweep, visits, evidence):
    verdict = judge.console_and_csp(visits.visits)
    evidence.json(
        "console, page errors and CSP violations per visit",
        [
            {
                "url": v.url,
                "source": v.source,
                "console": [c.model_dump() for c in v.console],
                "page_errors": v.page_errors,
                "csp": [c.model_dump() for c in v.csp],
            }
            for v in visits.visits
        ],
    )
    _report(evidence, browser_sweep, visits, verdict, "console errors or CSP violations")


@pytest.mark.control("E2E-03")
def test_no_mixed_content_or_third_party_requests(browser_sweep, visits, target, evidence):
    verdict = judge.requests(visits.visits, target.profile.e2e.allowed_origins)
    evidence.json(
        "requests per visit",
        [
            {"url": v.url, "source": v.source, "requests": [r.model_dump() for r in v.requests]}
            for v in visits.visits
        ],
    )
    blocked = third_party_finding(browser_sweep.blocked, "E2E-03")
    if blocked is not None:
        evidence.finding(blocked)
    if browser_sweep.refused:
        evidence.text("held back by the safe mode", "\n".join(browser_sweep.refused))
    _report(evidence, browser_sweep, visits, verdict, "mixed-content or third-party requests")


@pytest.mark.control("E2E-04")
def test_no_secrets_in_browser_storage(browser_sweep, visits, evidence):
    verdict = judge.storage(visits.visits)
    evidence.json(
        "storage keys per visit (values are never recorded)",
        [
            {"url": v.url, "source": v.source, "storage": v.storage.model_dump()}
            for v in visits.visits
            if v.storage is not None
        ],
    )
    _report(evidence, browser_sweep, visits, verdict, "secrets readable by scripts")


@pytest.mark.control("E2E-05")
def test_key_pages_are_accessible(browser_sweep, visits, target, evidence):
    verdict = judge.accessibility(visits.visits, list(target.profile.e2e.a11y_fail_impacts))
    evidence.json(
        "axe-core violations per page",
        [
            {
                "url": v.url,
                "source": v.source,
                "violations": [a.model_dump() for a in v.a11y] if v.a11y is not None else None,
                "note": v.a11y_note,
            }
            for v in visits.visits
        ],
    )
    _report(evidence, browser_sweep, visits, verdict, "accessibility violations")
