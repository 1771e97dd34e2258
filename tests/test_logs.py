"""harness.logs: a verdict per line, aliases, correlation lookups."""

from __future__ import annotations

import json

from harness import logs


def _line(**fields: object) -> str:
    return json.dumps(fields)


def test_structured_lines_pass() -> None:
    lines = [
        _line(time="2024-01-01T00:00:00Z", level="INFO", logger="app", message="hi"),
        "",
        _line(timestamp="t", severity="ERROR", name="db", msg="boom"),
    ]
    check = logs.check_lines(lines)
    assert check.ok
    assert check.total == 2
    assert check.verdicts[1].present == {
        "time": "timestamp",
        "level": "severity",
        "logger": "name",
        "message": "msg",
    }


def test_plain_and_incomplete_lines_fail_with_evidence() -> None:
    lines = [
        "2024-01-01 12:00:00 INFO [app] started",
        _line(time="t", level="INFO", message="no logger"),
        "[1, 2]",
        _line(time="t", level="INFO", logger="x", message="ok"),
    ]
    check = logs.check_lines(lines)
    assert not check.ok
    assert [v.index for v in check.bad] == [0, 1, 2]
    assert check.bad[0].error and "not JSON" in check.bad[0].error
    assert check.bad[1].missing == ["logger"]
    assert "not an object" in (check.bad[2].error or "")
    summary = check.summary()
    assert "3 of 4" in summary and "started" in summary


def test_empty_capture_is_not_ok() -> None:
    check = logs.check_lines(["", "  "])
    assert not check.ok
    assert check.summary() == "no log lines were captured"


def test_empty_field_counts_as_missing() -> None:
    verdict = logs.check_line(_line(time="t", level="INFO", logger="x", message=""))
    assert verdict.missing == ["message"]


def test_nested_dotted_alias() -> None:
    verdict = logs.check_line(
        _line(**{"@timestamp": "t", "log": {"level": "info", "logger": "l"}, "message": "m"})
    )
    assert verdict.ok, verdict


def test_custom_fields() -> None:
    verdict = logs.check_line(_line(ts="t", lvl="I"), fields={"time": ["ts"], "level": ["lvl"]})
    assert verdict.ok


def test_records_mentions_and_correlation() -> None:
    lines = ["plain", _line(message="x", correlation_id="abc", extra={"path": "/p/abc"})]
    found = logs.records(lines)
    assert len(found) == 1
    assert logs.mentions(found[0], "/p/abc")
    assert not logs.mentions(found[0], "zzz")
    assert logs.correlation_value(found[0]) == ("correlation_id", "abc")


def test_field_value_alias() -> None:
    assert logs.field_value({"levelname": "WARNING"}, "level") == "WARNING"
    assert logs.field_value({}, "level") is None


def test_excerpt_truncates() -> None:
    out = logs.excerpt(["x" * 3000] * 5, limit=2)
    assert len(out) == 2 and out[0].endswith("...") and len(out[0]) == 2003


def test_log_capture_reads_from_its_mark() -> None:
    class Source:
        def __init__(self) -> None:
            self.lines = ["a", "b"]

        def log_mark(self) -> int:
            return len(self.lines)

        def log_lines(self, since: int = 0) -> list[str]:
            return self.lines[since:]

    source = Source()
    capture = logs.LogCapture(source)
    source.lines.append("c")
    assert capture.lines() == ["c"]
