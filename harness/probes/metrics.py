"""Prometheus exposition: parse a scrape, and judge how counters and histograms moved.

The exposition text is parsed with ``prometheus_client``'s own parser, so "valid" means what
Prometheus means. Movement is judged between two scrapes around a known number of harness
requests to one path: a request counter whose series carries that path (or its route template)
must rise by at least that many, and so must a latency histogram's ``_count``; its ``_sum`` must
rise and its buckets must be cumulative. "At least" because other traffic may share the route.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]  # (sample name, sorted labels)
# A label value that names an HTTP status ("404") or its class ("4xx", "4XX").
_STATUS = re.compile(r"[1-5](?:\d\d|xx|XX)")


class Scrape(BaseModel):
    """One scrape of the metrics endpoint."""

    url: str
    status: int
    content_type: str = ""
    error: str | None = Field(default=None, description="why the text is not valid exposition")
    types: dict[str, str] = Field(default_factory=dict, description="family -> metric type")
    samples: dict[str, float] = Field(
        default_factory=dict, description="encoded series key -> value"
    )

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None and bool(self.types)

    def series(self) -> dict[SeriesKey, float]:
        return {decode_key(key): value for key, value in self.samples.items()}


def encode_key(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def decode_key(key: str) -> SeriesKey:
    name, _, rest = key.partition("{")
    labels: list[tuple[str, str]] = []
    for part in _split_labels(rest[:-1]):
        label, _, value = part.partition("=")
        labels.append((label, value[1:-1]))
    return name, tuple(sorted(labels))


def _split_labels(text: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return parts


def parse_exposition(text: str) -> tuple[dict[str, str], dict[str, float]]:
    """(family -> type, series key -> value); raises ValueError on invalid exposition."""
    types: dict[str, str] = {}
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[encode_key(sample.name, dict(sample.labels))] = float(sample.value)
    return types, samples


def scrape(client: httpx.Client, path: str) -> Scrape:
    response = client.get(path, headers={"Accept": "text/plain"})
    result = Scrape(
        url=str(response.url),
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
    )
    if response.status_code != 200:
        result.error = f"HTTP {response.status_code}"
        return result
    try:
        result.types, result.samples = parse_exposition(response.text)
    except (ValueError, IndexError, TypeError) as exc:  # the parser's ways of saying "invalid"
        result.error = f"invalid exposition: {exc}"
    if not result.error and not result.types:
        result.error = "the exposition holds no metric families"
    return result


class Movement(BaseModel):
    """How one family's series for the probed path moved between two scrapes."""

    family: str
    type: str
    series: list[str] = Field(default_factory=list, description="the matching series keys")
    delta: float = 0.0
    sum_delta: float | None = None
    problems: list[str] = Field(default_factory=list)


def _matches(labels: Iterable[tuple[str, str]], paths: set[str]) -> bool:
    return any(value in paths for _, value in labels)


def _family_of(sample: str, types: dict[str, str]) -> str | None:
    """The family a sample name belongs to (``x_total`` -> ``x``, ``h_bucket`` -> ``h``)."""
    if sample in types:
        return sample
    for suffix in ("_total", "_count", "_sum", "_bucket", "_created", "_gcount", "_gsum"):
        if sample.endswith(suffix) and sample[: -len(suffix)] in types:
            return sample[: -len(suffix)]
    return None


def status_class(labels: Iterable[tuple[str, str]]) -> str | None:
    """The status class a series is labelled with ("4xx"), from a label value that is a status
    code ("404") or a class ("4xx"); None when no label looks like one."""
    for _, value in labels:
        if _STATUS.fullmatch(value):
            return f"{value[0]}xx"
    return None


def counter_movements(
    before: Scrape, after: Scrape, paths: set[str], status: str | None = None
) -> list[Movement]:
    """Per counter family: total rise of the series labelled with one of ``paths`` (and, with
    ``status`` such as "4xx", only those labelled with a status of that class)."""
    old, new = before.series(), after.series()
    moves: dict[str, Movement] = {}
    for (name, labels), value in new.items():
        family = _family_of(name, after.types)
        if family is None or after.types.get(family) != "counter" or name.endswith("_created"):
            continue
        if not _matches(labels, paths):
            continue
        if status is not None and status_class(labels) != status:
            continue
        move = moves.setdefault(family, Movement(family=family, type="counter"))
        move.series.append(encode_key(name, dict(labels)))
        move.delta += value - old.get((name, labels), 0.0)
    return sorted(moves.values(), key=lambda move: -move.delta)


def histogram_movements(before: Scrape, after: Scrape, paths: set[str]) -> list[Movement]:
    """Per histogram family: ``_count`` and ``_sum`` rise and bucket sanity for ``paths``."""
    old, new = before.series(), after.series()
    moves: dict[str, Movement] = {}
    for (name, labels), value in new.items():
        family = _family_of(name, after.types)
        if family is None or after.types.get(family) != "histogram":
            continue
        if not _matches(labels, paths):
            continue
        move = moves.setdefault(family, Movement(family=family, type="histogram", sum_delta=0.0))
        if name.endswith("_count"):
            move.series.append(encode_key(name, dict(labels)))
            move.delta += value - old.get((name, labels), 0.0)
        elif name.endswith("_sum"):
            move.sum_delta = (move.sum_delta or 0.0) + value - old.get((name, labels), 0.0)
    for move in moves.values():
        move.problems.extend(bucket_problems(after, move.family, paths))
    return sorted(moves.values(), key=lambda move: -move.delta)


def bucket_problems(scrape_: Scrape, family: str, paths: set[str]) -> list[str]:
    """Buckets must be cumulative (non-decreasing with ``le``) and end in ``+Inf == _count``."""
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    counts: dict[tuple[tuple[str, str], ...], float] = {}
    for (name, labels), value in scrape_.series().items():
        if not _matches(labels, paths):
            continue
        if name == f"{family}_bucket":
            rest = tuple(item for item in labels if item[0] != "le")
            le = dict(labels).get("le", "")
            try:
                bound = math.inf if le in ("+Inf", "Inf", "inf") else float(le)
            except ValueError:
                groups.setdefault(rest, []).append((math.nan, value))
                continue
            groups.setdefault(rest, []).append((bound, value))
        elif name == f"{family}_count":
            counts[labels] = value
    problems: list[str] = []
    for rest, buckets in groups.items():
        where = encode_key(family, dict(rest))
        if any(math.isnan(bound) for bound, _ in buckets):
            problems.append(f"{where}: a bucket has a non-numeric le label")
            continue
        buckets.sort()
        values = [value for _, value in buckets]
        if any(later < earlier for earlier, later in zip(values, values[1:], strict=False)):
            problems.append(f"{where}: bucket counts decrease as le grows: {values}")
        if not buckets or buckets[-1][0] != math.inf:
            problems.append(f'{where}: no le="+Inf" bucket')
        elif rest in counts and buckets[-1][1] != counts[rest]:
            problems.append(
                f"{where}: +Inf bucket {buckets[-1][1]} differs from _count {counts[rest]}"
            )
    if not groups:
        problems.append(f"{family}: no _bucket series for the probed route")
    return problems
