"""Log parsing: records from JSON or plain-text lines, and the structured-log verdict per line.

The app's log comes from the stack (``target.log_lines(mark)``), a file or a command named in
the profile. Its shape is the profile's ``[logs] format``: ``json`` (one JSON object per line)
or ``regex`` (plain-text lines read with ``[logs] pattern``, whose named groups become the
record's fields). ``LogParser`` gives every log consumer (correlation, audit, error logging,
injection, slow queries) the same record model, a dict, from either shape.

OBS-03 alone judges the shape itself, line by line: does the line parse as one JSON object, and
does it carry the fields an operator needs (time, level, logger, message)? Field names differ
between logging libraries (``timestamp`` vs ``time``, ``msg`` vs ``message``), so each required
field accepts a small set of aliases; the verdict names the alias found so a report can show it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

# Required field -> the names accepted for it, in order of preference.
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "@timestamp", "ts", "asctime"),
    "level": ("level", "levelname", "severity", "log.level", "lvl"),
    "logger": ("logger", "logger_name", "name", "log.logger"),
    "message": ("message", "msg", "event_message"),
}

# Field names that carry a correlation id in common JSON log layouts.
CORRELATION_FIELDS = ("correlation_id", "request_id", "requestId", "x_request_id", "trace_id")

_MAX_EVIDENCE_LINE = 600


class LineVerdict(BaseModel):
    """What one log line turned out to be."""

    index: int = Field(description="position of the line in the captured slice (0-based)")
    line: str = Field(description="the line, truncated for evidence")
    parsed: bool
    error: str | None = Field(default=None, description="why it did not parse as a JSON object")
    present: dict[str, str] = Field(
        default_factory=dict, description="required field -> the name it was found under"
    )
    missing: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.parsed and not self.missing


class LogCheck(BaseModel):
    """Verdicts for a slice of log lines (blank lines are not counted)."""

    total: int = 0
    verdicts: list[LineVerdict] = Field(default_factory=list)

    @property
    def bad(self) -> list[LineVerdict]:
        return [verdict for verdict in self.verdicts if not verdict.ok]

    @property
    def unparsed(self) -> list[LineVerdict]:
        return [verdict for verdict in self.verdicts if not verdict.parsed]

    @property
    def ok(self) -> bool:
        return self.total > 0 and not self.bad

    def summary(self, limit: int = 5) -> str:
        """One line per offending log line (up to ``limit``), for assertion messages."""
        if self.total == 0:
            return "no log lines were captured"
        parts = [f"{len(self.bad)} of {self.total} log lines are not structured records"]
        for verdict in self.bad[:limit]:
            why = verdict.error if not verdict.parsed else f"missing {', '.join(verdict.missing)}"
            parts.append(f"  line {verdict.index}: {why}: {verdict.line[:200]!r}")
        return "\n".join(parts)


def parse_record(line: str) -> dict[str, Any] | None:
    """The JSON object on this line, or None (a JSON array or scalar is not a log record)."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _lookup(record: Mapping[str, Any], name: str) -> Any:
    """``name`` in the record; dotted names (``log.level``) may also be nested objects."""
    if name in record:
        return record[name]
    head, _, rest = name.partition(".")
    inner = record.get(head)
    if rest and isinstance(inner, Mapping):
        return _lookup(inner, rest)
    return None


def field_value(
    record: Mapping[str, Any], field: str, fields: Mapping[str, Sequence[str]] | None = None
) -> Any:
    """The value of a required field under whichever alias the record uses."""
    for name in (fields or DEFAULT_FIELDS).get(field, (field,)):
        value = _lookup(record, name)
        if value not in (None, ""):
            return value
    return None


def check_line(
    line: str, index: int = 0, fields: Mapping[str, Sequence[str]] | None = None
) -> LineVerdict:
    fields = fields or DEFAULT_FIELDS
    shown = line if len(line) <= _MAX_EVIDENCE_LINE else line[:_MAX_EVIDENCE_LINE] + "..."
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return LineVerdict(index=index, line=shown, parsed=False, error=f"not JSON ({exc})")
    if not isinstance(value, dict):
        return LineVerdict(
            index=index,
            line=shown,
            parsed=False,
            error=f"JSON {type(value).__name__}, not an object",
        )
    present: dict[str, str] = {}
    missing: list[str] = []
    for field, aliases in fields.items():
        found = next((name for name in aliases if _lookup(value, name) not in (None, "")), None)
        if found is None:
            missing.append(field)
        else:
            present[field] = found
    return LineVerdict(index=index, line=shown, parsed=True, present=present, missing=missing)


def check_lines(
    lines: Iterable[str], fields: Mapping[str, Sequence[str]] | None = None
) -> LogCheck:
    """A verdict for every non-blank line."""
    check = LogCheck()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        check.total += 1
        check.verdicts.append(check_line(line.rstrip("\r\n"), index, fields))
    return check


def records(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The lines that parse as JSON objects (the rest are dropped)."""
    found: list[dict[str, Any]] = []
    for line in lines:
        record = parse_record(line) if line.strip() else None
        if record is not None:
            found.append(record)
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def mentions(record: Mapping[str, Any], needle: str) -> bool:
    """True when any string value of the record (nested too) contains ``needle``."""
    return any(needle in text for text in _strings(record))


def correlation_value(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field name, value) of the record's correlation id, if it has one."""
    for name in CORRELATION_FIELDS:
        value = _lookup(record, name)
        if isinstance(value, str) and value:
            return name, value
    return None


# Named groups a ``regex`` pattern may use. ``extra`` is a JSON object inside the line (an audit
# payload, say) whose keys join the record; the line's own groups win over its keys.
LINE_GROUPS = ("time", "level", "logger", "message", "correlation_id", "extra")
# Plain-text layouts write "-" for an absent value (no correlation id outside a request).
_ABSENT = ("", "-")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled line pattern; ValueError with one line when it cannot read log records."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
    names = set(compiled.groupindex)
    unknown = sorted(names - set(LINE_GROUPS))
    if unknown:
        raise ValueError(
            f"pattern has unknown named group(s) {', '.join(unknown)}; the known ones are "
            + ", ".join(LINE_GROUPS)
        )
    if "message" not in names:
        raise ValueError("pattern needs a named group (?P<message>...) for the log message")
    return compiled


class LogFormat(Protocol):
    """What a parser needs from the profile (``harness.profile.sections.LogSettings``)."""

    @property
    def format(self) -> Literal["json", "regex"]: ...

    @property
    def pattern(self) -> str | None: ...


class LogParser:
    """One log line -> one record (a dict), or None when the line is not a record.

    JSON lines are their object; regex lines are their named groups (absent or ``-`` values
    dropped) plus the keys of the ``extra`` group's JSON object.
    """

    def __init__(self, format: Literal["json", "regex"] = "json", pattern: str | None = None):
        if format == "regex" and not pattern:
            raise ValueError("format = 'regex' needs a pattern")
        self.format = format
        self._pattern = compile_pattern(pattern) if format == "regex" and pattern else None

    @classmethod
    def from_settings(cls, settings: LogFormat) -> LogParser:
        return cls(settings.format, settings.pattern)

    @property
    def structured(self) -> bool:
        """The profile says the app writes JSON records (OBS-03's claim)."""
        return self._pattern is None

    def parse(self, line: str) -> dict[str, Any] | None:
        text = line.rstrip("\r\n")
        if not text.strip():
            return None
        if self._pattern is None:
            return parse_record(text)
        # match, not search: a record starts where the line starts (log_injection relies on it).
        found = self._pattern.match(text)
        if found is None:
            return None
        groups = found.groupdict()
        extra = groups.pop("extra", None)
        record: dict[str, Any] = {
            name: value
            for name, value in groups.items()
            if value is not None and value not in _ABSENT
        }
        payload = parse_record(extra) if extra else None
        for key, value in (payload or {}).items():
            record.setdefault(key, value)
        return record

    def records(self, lines: Iterable[str]) -> list[dict[str, Any]]:
        """The lines that are records, in order (the rest are dropped)."""
        found: list[dict[str, Any]] = []
        for line in lines:
            record = self.parse(line)
            if record is not None:
                found.append(record)
        return found


JSON_LINES = LogParser()


def excerpt(lines: Sequence[str], limit: int = 200) -> list[str]:
    """The last ``limit`` lines, each truncated: log evidence without megabytes of noise."""
    chosen = list(lines[-limit:])
    return [line if len(line) <= 2000 else line[:2000] + "..." for line in chosen]


class LogSource(Protocol):
    """What a capture needs (``harness.target.Target`` provides it from the profile)."""

    def log_mark(self) -> int: ...

    def log_lines(self, since: int = 0) -> list[str]: ...


class LogCapture:
    """The log lines written after the capture was made::

    capture = LogCapture(target)
    ...exercise the target...
    check_lines(capture.lines())
    """

    def __init__(self, source: LogSource) -> None:
        self.source = source
        self.mark = source.log_mark()

    def lines(self) -> list[str]:
        return self.source.log_lines(self.mark)
