"""What the e2e suite needs around journeys: their paths, the page sweep, and the visits
E2E-02..05 judge (the sweep's and every journey's of the run)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from harness.browser import visits as shared
from harness.browser.observe import PageVisit
from harness.browser.session import Observer, WatchedContext
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


class Anonymous:
    label = "anonymous"

    def __init__(self, observer: Observer) -> None:
        self._watched = observer.context()

    def context(self) -> WatchedContext | None:
        return self._watched


class LoggedIn:
    """A context carrying a session of ``user``, logged in again through the adapter before
    the target's idle or absolute timeout could end it (half of the shorter one)."""

    def __init__(
        self,
        observer: Observer,
        login: Callable[[str], Session],
        auth_error: type[Exception],
        user: str,
        base_url: str,
        renew_after_s: float | None,
        notes: list[str],
    ) -> None:
        self.label = f"as {user}"
        self._observer = observer
        self._login = login
        self._auth_error = auth_error
        self._user = user
        self._base_url = base_url
        self._renew_after_s = renew_after_s
        self._notes = notes
        self._watched: WatchedContext | None = None
        self._session: Session | None = None
        self._since = 0.0
        self.failed = False

    def context(self) -> WatchedContext | None:
        if self.failed:
            return None
        stale = self._renew_after_s is not None and (
            time.monotonic() - self._since > self._renew_after_s
        )
        if self._session is None or stale:
            session = self._fresh()
            if session is None:
                self.failed = True
                return None
            cookies, headers = session_credential(session, self._base_url)
            for cookie in cookies:
                self._observer.add_secret(str(cookie.get("value", "")))
            if self._watched is None:
                self._watched = self._observer.context(cookies, headers)
            else:
                self._watched.renew(cookies, headers)
        return self._watched

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _fresh(self) -> Session | None:
        self.close()
        self._session = None
        for attempt in range(2):  # one retry: a first-login race is not these controls'
            try:
                self._session = self._login(self._user)
                self._since = time.monotonic()
                return self._session
            except self._auth_error as exc:
                if attempt:
                    self._notes.append(f"login as {self._user} failed ({exc}): not swept")
        return None


def renew_after(idle_s: float | None, absolute_s: float | None) -> float | None:
    """Half the shorter of the target's session timeouts (None: it promises neither)."""
    known = [t for t in (idle_s, absolute_s) if t]
    return min(known) / 2 if known else None


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
    with guarded_browser(target.guard) as browser:
        observer = Observer(
            browser,
            settings,
            target.safety,
            known_secrets=[u.password for u in users if u.password],
            session_cookie=profile.auth.session_cookie or None,
        )
        roles: list[Anonymous | LoggedIn] = [Anonymous(observer)]
        if user is not None and profile.auth.flow != "none":
            timeouts = profile.session
            renew = renew_after(timeouts.idle_timeout_s, timeouts.absolute_timeout_s)
            roles.append(LoggedIn(observer, login, auth_error, user, base_url, renew, result.notes))
        try:
            sweep(base_url, pages, roles, result)
        finally:
            for role in roles:
                if isinstance(role, LoggedIn):
                    role.close()
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
        f"{' and '.join(run.result.roles) or 'no role'}) and {len(journey_visits)} from "
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
