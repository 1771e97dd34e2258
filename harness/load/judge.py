"""PERF-03 and PERF-04 verdicts from a run's figures (PERF-02's is :mod:`harness.load.slo`).

Each returns ``(passed, message)`` or raises NotApplicable / NotEvaluated with the reason, so a
check that saw nothing is never a pass.
"""

from __future__ import annotations

from harness.load.cache_metrics import CacheFigures
from harness.load.dbconn import DbFigures
from harness.profile import LoadSettings
from harness.verdicts import NotApplicable, NotEvaluated


def pool(db: DbFigures | None, settings: LoadSettings, requests: int) -> tuple[bool, str]:
    """Connections held at once stay under the bound, and the run opens few new ones."""
    if settings.db_max_connections is None:
        raise NotApplicable("the profile sets no load.db_max_connections (the pool's bound)")
    if db is None:
        raise NotApplicable(
            "the profile names no database to watch (datastores.database_url / database_service)"
        )
    if db.error and not db.samples:
        raise NotEvaluated(db.error)
    if db.samples == 0:
        raise NotEvaluated("the run ended before the first connection sample")
    bound = settings.db_max_connections
    most_new = settings.db_max_new_connections or 2 * bound
    problems = []
    if db.peak > bound:
        problems.append(f"{db.peak} connections held at once > {bound}")
    if db.opened is not None and db.opened > most_new:
        problems.append(
            f"{db.opened} connections opened during {requests} requests > {most_new}: "
            "connections are not reused"
        )
    opened = "unknown (PostgreSQL < 14)" if db.opened is None else str(db.opened)
    said = (
        f"peak {db.peak} connections held (bound {bound}) over {db.samples} samples; "
        f"{opened} opened during {requests} requests (most allowed {most_new})"
    )
    if db.error:
        said += f"; {db.error}"
    return not problems, "; ".join(problems) or said


def cache(
    figures: CacheFigures | None, settings: LoadSettings, during: str = "the run"
) -> tuple[bool, str]:
    """The hit ratio of the reads made ``during`` (the load run's own, by default), from the
    target's counters."""
    if not (settings.cache_hit_metric and settings.cache_miss_metric):
        raise NotApplicable(
            "the profile names no cache counters (load.cache_hit_metric / cache_miss_metric)"
        )
    if figures is None:
        raise NotApplicable("the profile names no metrics endpoint (target.metrics_path)")
    if figures.error:
        raise NotEvaluated(figures.error)
    ratio = figures.ratio
    if ratio is None:
        raise NotEvaluated("the run moved neither cache counter: no journey read through the cache")
    said = (
        f"hit ratio {ratio:.0%} ({figures.hits:g} hits, {figures.misses:g} misses during "
        f"{during}; least allowed {settings.cache_min_hit_ratio:.0%})"
    )
    return ratio >= settings.cache_min_hit_ratio, said
