"""Error responses: one JSON shape for every 4xx/5xx, carrying the request's correlation id,
and a log record for every 5xx.

The shape is inferred from the target itself: the first error body sets the expected set of
key paths, and every other error must contain at least those keys (extra keys such as a
validation error's ``details`` are allowed) and carry the correlation id at the same place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from harness import logs

_WARNING_LEVELS = {
    "warning",
    "warn",
    "error",
    "err",
    "critical",
    "fatal",
    "crit",
    "alert",
    "emergency",
    "severe",
}
_EXCEPTION_FIELDS = (
    "exc_info",
    "exception",
    "exc",
    "stack",
    "stack_trace",
    "stacktrace",
    "traceback",
    "error.stack",
    "error.stack_trace",
    "exc_text",
)
_ROUTE_FIELDS = (
    "route",
    "path",
    "url",
    "uri",
    "endpoint",
    "http.route",
    "http.target",
    "request_path",
)


class ErrorSample(BaseModel):
    """One error response the harness provoked."""

    label: str = Field(description="what provoked it, e.g. 'unknown route'")
    method: str
    url: str
    path: str = Field(description="the request path")
    route: str | None = Field(default=None, description="the OpenAPI path template, if known")
    status: int
    content_type: str = ""
    body: Any = None
    request_id: str
    echoed_id: str | None = None


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Dotted key paths of a JSON value; list items are not descended into."""
    if not isinstance(value, Mapping):
        return set()
    found: set[str] = set()
    for key, inner in value.items():
        path = f"{prefix}{key}"
        found.add(path)
        found |= key_paths(inner, path + ".")
    return found


def find_value(value: Any, needle: str, prefix: str = "") -> str | None:
    """The key path at which the string ``needle`` occurs as a whole value."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            hit = find_value(inner, needle, f"{prefix}{key}.")
            if hit is not None:
                return hit
    elif isinstance(value, str) and value == needle:
        return prefix.rstrip(".")
    return None


def parse_body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class ShapeVerdict(BaseModel):
    expected_keys: list[str] = Field(default_factory=list)
    id_path: str | None = None
    problems: list[str] = Field(default_factory=list)


def judge_shapes(samples: Sequence[ErrorSample]) -> ShapeVerdict:
    """Every error is a JSON object with the first error's keys and the correlation id."""
    verdict = ShapeVerdict()
    reference: ErrorSample | None = None
    for sample in samples:
        where = f"{sample.method} {sample.url} -> {sample.status} ({sample.label})"
        if not isinstance(sample.body, Mapping):
            verdict.problems.append(
                f"{where}: the body is not a JSON object (content-type {sample.content_type!r})"
            )
            continue
        id_path = find_value(sample.body, sample.echoed_id or sample.request_id)
        if id_path is None and sample.echoed_id != sample.request_id:
            id_path = find_value(sample.body, sample.request_id)
        if reference is None:
            reference = sample
            verdict.expected_keys = sorted(key_paths(sample.body))
            verdict.id_path = id_path
        keys = key_paths(sample.body)
        missing = sorted(set(verdict.expected_keys) - keys)
        if missing:
            verdict.problems.append(
                f"{where}: the body lacks {', '.join(missing)} that the first error "
                f"({reference.label}) has; body keys: {', '.join(sorted(keys)) or '(none)'}"
            )
        if id_path is None:
            verdict.problems.append(
                f"{where}: the body does not carry the correlation id "
                f"{sample.echoed_id or sample.request_id!r}"
            )
        elif verdict.id_path is not None and id_path != verdict.id_path:
            verdict.problems.append(
                f"{where}: the correlation id is at {id_path!r}, not at {verdict.id_path!r}"
            )
    return verdict


def is_warning_or_worse(record: Mapping[str, Any]) -> bool:
    level = logs.field_value(record, "level")
    if isinstance(level, int | float):
        return level >= 30  # Python/pino numeric levels: 30 = WARNING (python), 40 = warn (pino)
    return isinstance(level, str) and level.strip().lower() in _WARNING_LEVELS


def has_exception(record: Mapping[str, Any]) -> bool:
    for name in _EXCEPTION_FIELDS:
        head, _, rest = name.partition(".")
        value = record.get(name)
        if value is None and rest and isinstance(record.get(head), Mapping):
            value = record[head].get(rest)
        if value not in (None, "", False, [], {}):
            return True
    return any(
        isinstance(value, str) and "Traceback (most recent call last)" in value
        for value in record.values()
    )


def names_route(record: Mapping[str, Any], sample: ErrorSample) -> bool:
    candidates = {sample.path, *([sample.route] if sample.route else [])}
    for name in _ROUTE_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value in candidates:
            return True
    return False


class LoggedVerdict(BaseModel):
    sample: ErrorSample
    records: list[dict[str, Any]] = Field(default_factory=list)
    problem: str | None = None


def judge_5xx_logging(
    samples: Iterable[ErrorSample], records: Sequence[Mapping[str, Any]]
) -> list[LoggedVerdict]:
    """For every 5xx: a WARNING-or-worse record with its correlation id and route; a 500
    (an unhandled error) must also carry the exception."""
    out: list[LoggedVerdict] = []
    for sample in samples:
        if sample.status < 500:
            continue
        wanted = sample.echoed_id or sample.request_id
        mine = [dict(r) for r in records if logs.mentions(r, wanted)]
        serious = [r for r in mine if is_warning_or_worse(r)]
        verdict = LoggedVerdict(sample=sample, records=mine)
        where = f"{sample.method} {sample.url} -> {sample.status} ({sample.label})"
        if not serious:
            verdict.problem = (
                f"{where}: no WARNING/ERROR log record carries its correlation id {wanted!r} "
                f"({len(mine)} lower-level records do)"
            )
        elif not any(names_route(r, sample) for r in serious):
            verdict.problem = (
                f"{where}: the error record(s) with id {wanted!r} do not name the route "
                f"({sample.route or sample.path})"
            )
        elif sample.status == 500 and not any(has_exception(r) for r in serious):
            verdict.problem = (
                f"{where}: the error record with id {wanted!r} carries no exception information"
            )
        out.append(verdict)
    return out
