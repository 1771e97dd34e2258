"""The data drills' fixture: a :class:`DataDrillContext` for this target, or the reason the
drills do not apply (an external target whose profile does not allow them, no database)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.drills.data_commands import CommandRunner, GuardedRunner, ServiceRunner
from harness.drills.data_context import DataDrillContext, external_allowed
from harness.guard_process import ProcessGuard
from harness.scope import OutOfScope
from harness.stack.base import Executes, Lifecycle, Stack
from harness.target import Target
from harness.verdicts import NotApplicable, NotEvaluated


def _database_url(target: Target) -> str:
    stores = target.profile.datastores
    if stores.database_url:
        return stores.database_url
    if not stores.database_service:
        raise NotApplicable("the profile names no database (datastores.database_url/service)")
    return target.service_url(stores.database_service)


def _in_scope(target: Target, database_url: str) -> None:
    """The harness's own database connections stay inside the allow-list too."""
    if database_url.startswith("sqlite"):
        return
    try:
        target.guard.check(database_url)
    except OutOfScope as exc:
        raise NotEvaluated(f"the database is out of scope: {exc}") from exc


def _runner(target: Target, stack: Stack, database_url: str, work: Path) -> CommandRunner:
    if target.profile.provider == "external":
        return GuardedRunner.for_database(ProcessGuard(target.guard), database_url, work)
    if not isinstance(stack, Executes):
        raise NotApplicable("the stack provider cannot run commands in its services")
    return ServiceRunner(stack, target.profile.target.app_service)


@pytest.fixture
def data_drill(target: Target, stack: Stack, tmp_path: Path) -> DataDrillContext:
    profile = target.profile
    external_allowed(profile)
    database_url = _database_url(target)
    _in_scope(target, database_url)
    app = profile.target.app_service
    ready_path = profile.target.ready_path

    def ready() -> bool:
        try:
            with target.client(timeout=httpx.Timeout(5.0)) as client:
                return client.get(ready_path).status_code == 200
        except (httpx.HTTPError, OutOfScope):
            return False

    def restart() -> None:
        if isinstance(stack, Lifecycle):
            stack.restart(app)

    managed = profile.provider != "external" and isinstance(stack, Lifecycle)
    return DataDrillContext(
        settings=profile.resilience,
        runner=_runner(target, stack, database_url, tmp_path),
        database_url=database_url,
        ready=ready,
        restart_app=restart if managed else None,
    )
