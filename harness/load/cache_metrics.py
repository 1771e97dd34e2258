"""PERF-04's figures: the target's own cache counters in /metrics, before and after the run.

The counter names come from the profile (``load.cache_hit_metric`` / ``cache_miss_metric``);
every series of a counter is summed, whatever its labels.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel

from harness.probes.metrics import scrape


class CacheCounts(BaseModel):
    hits: float
    misses: float


class CacheFigures(BaseModel):
    hits: float = 0.0
    misses: float = 0.0
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        total = self.hits + self.misses
        return self.hits / total if total else None


def _total(types: dict[str, str], samples: dict[str, float], name: str) -> float | None:
    """The sum of ``name``'s series; 0 for a declared family with no series yet (a labelled
    counter nobody has incremented), None when the exposition does not know the name."""
    found = [v for key, v in samples.items() if key == name or key.startswith(name + "{")]
    if found:
        return sum(found)
    family = name.removesuffix("_total")
    return 0.0 if name in types or family in types else None


def read(client: httpx.Client, path: str, hit: str, miss: str) -> CacheCounts | str:
    """The two counters now, or why they could not be read."""
    result = scrape(client, path)
    if result.error:
        return f"{path}: {result.error}"
    hits = _total(result.types, result.samples, hit)
    misses = _total(result.types, result.samples, miss)
    if hits is None or misses is None:
        absent = [n for n, v in ((hit, hits), (miss, misses)) if v is None]
        return f"{path} has no series of {', '.join(absent)}"
    return CacheCounts(hits=hits, misses=misses)


def delta(before: CacheCounts | str, after: CacheCounts | str) -> CacheFigures:
    if isinstance(before, str):
        return CacheFigures(error=before)
    if isinstance(after, str):
        return CacheFigures(error=after)
    return CacheFigures(hits=after.hits - before.hits, misses=after.misses - before.misses)
