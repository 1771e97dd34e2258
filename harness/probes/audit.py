"""Audit records in the app's log: one per sensitive operation, with actor, action, outcome,
time and the correlation id of the request that caused it.

An audit record is a log record that says it is one: an ``event``/``audit`` key, or a logger
name containing "audit". With JSON logs it is the line's JSON object (after any prefix a process
manager adds); with a ``regex`` log format it is the parsed line, whose ``extra`` group carries
the audit payload. Field names vary between logging setups; each required field accepts a few
aliases.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from harness import logs

REQUIRED: dict[str, tuple[str, ...]] = {
    "actor": ("actor", "user", "username", "user_id", "principal", "subject"),
    "action": ("action", "event", "event_type", "operation"),
    "outcome": ("outcome", "result", "status", "success"),
    "time": ("audit_time", "time", "timestamp", "@timestamp", "ts"),
    "correlation_id": ("correlation_id", "request_id", "requestId", "trace_id"),
}


class AuditRecord(BaseModel):
    line: int
    fields: dict[str, Any]
    present: dict[str, str] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)

    def value(self, field: str) -> Any:
        name = self.present.get(field)
        return self.fields.get(name) if name else None


def is_audit(record: dict[str, Any]) -> bool:
    logger = str(record.get("logger") or record.get("name") or "")
    return "event" in record or "audit" in record or "audit" in logger.lower()


def _json_object(line: str) -> dict[str, Any] | None:
    """The JSON object that starts at the line's first brace (a prefix is allowed)."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        record = json.loads(line[start:])
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def parse(
    lines: list[str], offset: int = 0, parser: logs.LogParser | None = None
) -> list[AuditRecord]:
    """The audit records among ``lines``; ``parser`` reads a plain-text format (JSON if None)."""
    out: list[AuditRecord] = []
    for index, line in enumerate(lines):
        plain = parser is not None and not parser.structured
        record = parser.parse(line) if plain and parser else _json_object(line)
        if record is None or not is_audit(record):
            continue
        present: dict[str, str] = {}
        for field, aliases in REQUIRED.items():
            name = next((a for a in aliases if record.get(a) not in (None, "")), None)
            if name:
                present[field] = name
        out.append(
            AuditRecord(
                line=offset + index,
                fields=record,
                present=present,
                missing=[f for f in REQUIRED if f not in present],
            )
        )
    return out


def matching(
    records: list[AuditRecord], *, correlation_id: str | None = None, words: tuple[str, ...] = ()
) -> list[AuditRecord]:
    """Records of one request (by correlation id) whose action mentions one of ``words``."""
    found = []
    for record in records:
        if correlation_id is not None and str(record.value("correlation_id")) != correlation_id:
            continue
        action = " ".join(str(record.fields.get(a, "")) for a in REQUIRED["action"]).lower()
        if words and not any(w in action for w in words):
            continue
        found.append(record)
    return found


def identities(name: str | None, login_json: Any = None) -> set[str]:
    """What may stand for the user who acted: the profile's user name, and the ``id``,
    ``username``/``name``/``email`` values the login answer gave for the user (apps log ids as
    often as names)."""
    found = {name.lower()} if name else set()
    user = login_json.get("user") if isinstance(login_json, dict) else None
    for source in (user, login_json):
        if not isinstance(source, dict):
            continue
        for key in ("id", "user_id", "username", "name", "email", "sub"):
            value = source.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                found.add(str(value).lower())
    return found


def actor_problem(record: AuditRecord, expected: set[str]) -> str | None:
    """Why the record's actor is not the user who acted (None when it names them).

    Presence is not identity: a fixed "system", the previous user or an empty placeholder are
    all non-empty. The actor may carry the identity inside a longer value ("user:alice"), as a
    whole word of it."""
    if not expected:
        return None
    value = record.value("actor")
    if value is None:
        return "names no actor"
    text = str(value).lower()
    words = set(re.split(r"[^a-z0-9@._-]+", text)) | set(re.split(r"[^a-z0-9]+", text))
    if text in expected or expected & words:
        return None
    return (
        f"names actor {str(value)[:80]!r}, not the user who acted ({', '.join(sorted(expected))})"
    )
