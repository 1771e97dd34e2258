"""What the e2e suite needs around journeys: their paths, the page sweep, and the visits
E2E-02..05 judge (the sweep's and every journey's of the run)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from harness.browser import visits as shared
from harness.browser.observe import PageVisit
from harness.browser.session import Observer
from harness.browser.sweep import SweepResult, sweep
from harness.guard_browser import BlockedRequest, guarded_browser
from harness.probes.browser import session_credential

if TYPE_CHECKING:
    import pytest

    from harness.auth import Session
    from harness.target import Target

JOURNEY_FIXTURE = "journey"


def journey_paths(entries: Sequence[str], base: Path) -> list[Path]:
    """``e2e.journeys`` resolved against the profile file's folder; a missing one is an error."""
    paths = []
    for entry in entries:
        path = Path(entry)
        path = (path if path.is_absolute() else base / path).resolve()
        if not path.exists():
            raise FileNotFoundError(f"e2e.journeys: {entry} does not exist (looked at {path})")
        paths.append(path)
    return paths


class SweepRun(BaseModel):
    visits: list[PageVisit] = Field(default_factory=list)
    result: SweepResult
    blocked: list[BlockedRequest] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)


def run_sweep(
    target: Target,
    login: Callable[[str], Session],
    auth_error: type[Exception],
) -> SweepRun:
    """Open the sweep's pages anonymously and as ``e2e.user`` (the adapter's login)."""
    profile = target.profile
    settings = profile.e2e
    pages = list(settings.pages if settings.pages is not None else profile.target.pages)
    users = profile.auth.users
    user = settings.user or (users[0].name if users else None)
    result = SweepResult(pages=pages, roles=[])
    if not pages:
        return SweepRun(result=result)
    base_url = target.base_url
    session: Session | None = None
    with guarded_browser(target.guard) as browser:
        observer = Observer(
            browser,
            settings,
            target.safety,
            known_secrets=[u.password for u in users if u.password],
            session_cookie=profile.auth.session_cookie or None,
        )
        contexts = [("anonymous", observer.context())]
        if user is not None and profile.auth.flow != "none":
            for attempt in range(2):  # one retry: a first-login race is not these controls'
                try:
                    session = login(user)
                    break
                except auth_error as exc:
                    if attempt:
                        result.notes.append(f"login as {user} failed ({exc}): anonymous only")
        if session is not None:
            cookies, headers = session_credential(session, base_url)
            for cookie in cookies:
                observer.add_secret(str(cookie.get("value", "")))
            contexts.append((f"as {user}", observer.context(cookies, headers)))
        result.roles = [role for role, _ in contexts]
        try:
            sweep(observer, base_url, pages, contexts, result)
        finally:
            if session is not None:
                session.close()
        return SweepRun(
            visits=observer.visits, result=result, blocked=browser.blocked, refused=observer.refused
        )


class Gathered(BaseModel):
    visits: list[PageVisit]
    sweep_visits: int
    journeys: list[str]  # journeys whose visits are included
    missing: list[str]  # journeys of this run that recorded nothing in time
    coverage: str


def gather(request: pytest.FixtureRequest, run: SweepRun, out: Path, wait_s: float) -> Gathered:
    """The sweep's visits and those of every journey collected in this session."""
    import pytest as _pytest

    ids = [
        item.nodeid
        for item in request.session.items
        if isinstance(item, _pytest.Function) and JOURNEY_FIXTURE in item.fixturenames
    ]
    records, missing = shared.wait_for(out, ids, wait_s) if ids else ([], [])
    journey_visits = [v for r in records for v in r.visits]
    coverage = (
        f"{len(run.visits)} page visit(s) of the sweep ({len(run.result.pages)} page(s), "
        f"{' and '.join(run.result.roles) or 'no role'}) and {len(journey_visits)} of "
        f"{len(records)} journey(s)"
    )
    if missing:
        coverage += (
            f"; {len(missing)} journey(s) recorded no visits within {wait_s:.0f} s, their pages "
            f"are not judged: {', '.join(missing)}"
        )
    return Gathered(
        visits=[*run.visits, *journey_visits],
        sweep_visits=len(run.visits),
        journeys=[r.test for r in records],
        missing=missing,
        coverage=coverage,
    )
