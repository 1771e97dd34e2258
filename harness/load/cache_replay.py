"""PERF-04's second look: when the load run's own reads never went through the cache.

On a busy machine a short run can spend its seconds on logins and anonymous pages and never
reach the routes the cache serves; the counters then say nothing, which is no verdict. The
plan already knows which authenticated reads answer 2xx, so the same reads are replayed in
order, a few times each, by one logged-in user, with the counters read around them. The
verdict says which figure it rests on.
"""

from __future__ import annotations

from pathlib import Path

from harness.load import cache_metrics
from harness.load.plan import Plan, login_for_load
from harness.loopback import source
from harness.target import Target

REPEATS = 3  # the first read of a path may miss by design; the next ones show the cache


def replay(target: Target, plan_file: Path) -> tuple[cache_metrics.CacheFigures, int] | None:
    """Counters moved by reading every planned API path ``REPEATS`` times, and the number of
    reads sent; None when the plan has nothing authenticated to read or no counters exist."""
    load, metrics_path = target.profile.load, target.profile.target.metrics_path
    if not (load.cache_hit_metric and load.cache_miss_metric and metrics_path):
        return None
    if not plan_file.is_file():
        return None
    plan = Plan.model_validate_json(plan_file.read_text(encoding="utf-8"))
    if not plan.can_login or not plan.api_paths:
        return None
    with target.client() as scraper:

        def counts() -> cache_metrics.CacheCounts | str:
            assert load.cache_hit_metric and load.cache_miss_metric and metrics_path
            return cache_metrics.read(
                scraper, metrics_path, load.cache_hit_metric, load.cache_miss_metric
            )

        session = login_for_load(target, source(169, 1))
        try:
            before = counts()
            sent = 0
            for _ in range(REPEATS):
                for path in plan.api_paths:
                    session.client.get(path)
                    sent += 1
            after = counts()
        finally:
            session.client.close()
    return cache_metrics.delta(before, after), sent
