"""OBS-07: a query slower than the target's threshold leaves a log record.

The harness makes one real query slow without changing the target: it holds an exclusive lock
on the application's tables (through its own database connection) for well over the
threshold while the target serves a database-backed request (the current user's profile, read
by a fresh session). The target's query waits on the lock, so it truly runs longer than the
threshold, and its slow-query log must say so. Disruptive: every other request that needs the
database waits too while the lock is held.
"""

from __future__ import annotations

import threading
import time

import pytest

from harness import logs
from harness.loopback import source
from harness.probes import correlation, slow_query
from harness.probes.bounded import as_response, fetch
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(67)


def _database_url(target) -> str:
    stores = target.profile.datastores
    if stores.database_url:
        return stores.database_url
    if not stores.database_service:
        raise NotApplicable("the profile names no database (datastores.database_url/service)")
    return target.service_url(stores.database_service)


@pytest.mark.disruptive
@pytest.mark.control("OBS-07")
def test_slow_query_is_logged(target, obs, login, evidence):
    threshold = obs.slow_query_ms
    if threshold is None:
        raise NotApplicable(
            "the profile gives no slow-query threshold (observability.slow_query_ms)"
        )
    me_path = target.profile.auth.me_path
    if not me_path:
        raise NotApplicable("the profile names no database-backed read (auth.me_path)")
    dsn = _database_url(target)
    if not dsn.startswith(("postgres://", "postgresql://", "postgresql+")):
        raise NotApplicable(f"the lock technique needs PostgreSQL, the database is {dsn[:12]}...")
    header = target.profile.target.request_id_header
    hold_s = max(2 * threshold, threshold + 300) / 1000
    session = login(local_address=SOURCE)
    rid = correlation.new_id("obs07")
    mark = target.log_mark()  # after the login: only the slowed request's records count
    result = {}

    def slowed_request() -> None:
        result["response"] = fetch(
            session.client, "GET", me_path, total_s=hold_s + 10, headers={header: rid}
        )

    try:
        with slow_query.tables_locked(dsn, hold_s) as tables:
            started = time.monotonic()
            worker = threading.Thread(target=slowed_request)
            worker.start()
            worker.join(hold_s + 12)
            elapsed_ms = (time.monotonic() - started) * 1000
    except slow_query.LockError as exc:
        raise NotEvaluated(f"could not make a query slow: {exc}") from exc
    response = result.get("response")
    assert response is not None, f"GET {me_path} did not finish within {hold_s + 12:.0f} s"
    evidence.http(as_response(response), f"GET {me_path} while the tables were locked")
    evidence.json(
        "slowed request",
        {
            "threshold_ms": threshold,
            "lock_held_s": hold_s,
            "locked_tables": tables,
            "request_ms": round(elapsed_ms, 1),
            "status": response.status,
            "request_id": rid,
        },
    )
    evidence.figure("slowed request duration", round(elapsed_ms), "ms")
    if response.status != 200:
        raise NotEvaluated(
            f"GET {me_path} answered {response.status} while the tables were "
            "locked: no slow query to look for"
        )
    if elapsed_ms < threshold:
        raise NotEvaluated(
            f"GET {me_path} took {elapsed_ms:.0f} ms, under the {threshold:g} ms "
            "threshold: the lock did not slow its query"
        )
    lines = target.log_lines(mark)
    verdict = slow_query.find_slow_records(
        lines,
        obs.slow_query_pattern,
        request_id=rid,
        parser=logs.LogParser.from_settings(target.profile.logs),
    )
    evidence.log(
        [m.line for m in verdict.matches] or lines[-50:],
        "slow-query records" if verdict.found else "app log during the slowed request",
    )
    assert verdict.found, (
        f"GET {target.url(me_path)} waited {elapsed_ms:.0f} ms on locked tables (threshold "
        f"{threshold:g} ms), yet none of the {len(lines)} app log lines written since matches "
        f"the slow-query pattern /{obs.slow_query_pattern}/"
    )
