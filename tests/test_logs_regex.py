"""Plain-text logs read through the profile's regex: the parser, its validation, and the log
controls' judges (injection, audit, slow queries) on plain-text lines."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness import logs
from harness.probes import audit, log_injection, slow_query
from harness.profile.sections import LogSettings

PATTERN = (
    r"^(?P<time>\S+) (?P<level>[A-Z]+) (?P<logger>\S+) \[cid=(?P<correlation_id>[^\]]*)\] "
    r"(?P<message>audit (?P<extra>\{.*\})|.*)$"
)
PARSER = logs.LogParser("regex", PATTERN)


def _line(message: str, logger: str = "app.http", cid: str = "c1", level: str = "INFO") -> str:
    return f"2026-12-04T15:00:00.123Z {level} {logger} [cid={cid}] {message}"


def _escaped(message: str) -> str:
    """What a safe plain-text logger writes: control characters escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def test_regex_lines_become_records() -> None:
    record = PARSER.parse(_line("GET /v2/notes 200 3ms"))
    assert record == {
        "time": "2026-12-04T15:00:00.123Z",
        "level": "INFO",
        "logger": "app.http",
        "correlation_id": "c1",
        "message": "GET /v2/notes 200 3ms",
    }
    # "-" is an absent value; a line that does not match is not a record.
    assert "correlation_id" not in (PARSER.parse(_line("boot", cid="-")) or {})
    assert PARSER.parse("Traceback (most recent call last):") is None
    assert PARSER.records([_line("a"), "junk", "", _line("b")]) == [
        PARSER.parse(_line("a")),
        PARSER.parse(_line("b")),
    ]
    assert logs.correlation_value(PARSER.parse(_line("x", cid="abc")) or {}) == (
        "correlation_id",
        "abc",
    )
    assert not PARSER.structured and logs.JSON_LINES.structured


def test_extra_json_joins_the_record_without_overriding_the_line() -> None:
    payload = {"action": "login", "actor": "alice", "correlation_id": "other", "level": "X"}
    record = PARSER.parse(_line("audit " + json.dumps(payload), logger="app.audit"))
    assert record is not None
    assert record["action"] == "login" and record["actor"] == "alice"
    assert record["correlation_id"] == "c1" and record["level"] == "INFO"
    # Not JSON after "audit ": still a record, without extra keys.
    assert PARSER.parse(_line("audit {not json}")) is not None


def test_json_parser_is_the_default() -> None:
    assert logs.JSON_LINES.parse('{"message": "m"}') == {"message": "m"}
    assert logs.JSON_LINES.parse("plain") is None
    assert logs.LogParser.from_settings(LogSettings()).structured


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"format": "regex"}, "format = 'regex' needs pattern"),
        ({"format": "regex", "pattern": "(?P<msg>.*)"}, "unknown named group(s) msg"),
        ({"format": "regex", "pattern": "(?P<time>\\S+)"}, "needs a named group (?P<message>"),
        ({"format": "regex", "pattern": "(?P<message>"}, "not a valid regular expression"),
        ({"pattern": "(?P<message>.*)"}, "only read with format = 'regex'"),
    ],
)
def test_bad_patterns_are_one_line_errors(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        LogSettings.model_validate(settings)
    text = caught.value.errors()[0]["msg"]
    assert message in text and "\n" not in text


def test_plain_text_injection_judge() -> None:
    sent = log_injection.payloads()
    safe = [_line("boot", cid="-")]
    for payload in sent.all().values():
        safe.append(_line(f"GET /{_escaped(payload)} 404"))
    verdict = log_injection.judge(safe, sent, PARSER)
    assert verdict.ok, verdict.forgeries
    assert verdict.marker_records == len(sent.all())

    for payload in (sent.crlf_record, sent.plain_line):
        unsafe = _line(f"GET /{payload} 404").splitlines()
        verdict = log_injection.judge(unsafe, sent, PARSER)
        assert not verdict.ok
        assert "started a log line of its own" in verdict.forgeries[0].reason
    # A forged line in the target's own format parses as a record: said so.
    lines = [_line(f"GET /{sent.marker}"), _line(sent.forged, level="CRITICAL", cid="-")]
    assert "parses as a record" in log_injection.judge(lines, sent, PARSER).forgeries[0].reason


def test_plain_text_injection_into_the_prefix() -> None:
    sent = log_injection.payloads()
    lines = [_line("GET /", cid=sent.marker)]
    verdict = log_injection.judge(lines, sent, PARSER)
    assert "correlation_id" in verdict.forgeries[0].reason


def test_plain_text_lines_in_a_json_profile_are_not_log_forging() -> None:
    """OBS-06 judges forging only: unstructured lines are OBS-03's claim."""
    sent = log_injection.payloads()
    lines = [_line("boot"), _line(f"GET /{_escaped(sent.crlf_record)}")]
    assert log_injection.judge(lines, sent).ok


def test_audit_records_from_plain_text() -> None:
    entry = {"event": "audit", "action": "login", "actor": "alice", "outcome": "success"}
    lines = [
        _line("GET /v2/token 200", cid="r1"),
        _line("audit " + json.dumps(entry), logger="app.audit", cid="r1"),
    ]
    records = audit.parse(lines, 10, PARSER)
    assert len(records) == 1 and records[0].line == 11
    assert records[0].missing == []
    assert audit.matching(records, correlation_id="r1", words=("login",))
    # Without the profile's parser the same line is read from its first brace.
    assert audit.parse(lines)[0].missing == ["time", "correlation_id"]


def test_slow_query_records_from_plain_text() -> None:
    lines = [
        _line("slow query 812ms: SELECT 1", logger="app.db", cid="r9"),
        _line("GET /v2/slow 200", cid="r9"),
    ]
    verdict = slow_query.find_slow_records(lines, "slow query", request_id="r9", parser=PARSER)
    assert verdict.found and verdict.matches[0].record is not None
    assert verdict.matches[0].carries_request_id
