"""harness.probes.log_injection: a safe JSON logger passes, the classic unsafe ones fail."""

from __future__ import annotations

import json

from harness.probes import log_injection


def _safe(message: str) -> str:
    return json.dumps({"time": "t", "level": "INFO", "logger": "a", "message": message})


def _unsafe(message: str) -> str:
    # The classic hand-rolled formatter: the message pasted in unescaped.
    return '{"time": "t", "level": "INFO", "logger": "a", "message": "' + message + '"}'


def _emit(render, message: str) -> list[str]:  # type: ignore[no-untyped-def]
    return render(message).splitlines()


def test_safe_logger_keeps_every_payload_in_one_record() -> None:
    sent = log_injection.payloads()
    lines = [_safe("boot")]
    for payload in sent.all().values():
        lines += _emit(_safe, f"failed login for {payload!r}")
        lines += _emit(_safe, f"GET {payload}")
    verdict = log_injection.judge(lines, sent)
    assert verdict.ok, verdict.forgeries
    assert verdict.marker_lines == verdict.marker_records == 2 * len(sent.all())


def test_unescaped_crlf_splits_the_record() -> None:
    sent = log_injection.payloads()
    lines = _emit(_unsafe, f"GET {sent.crlf_record}")
    verdict = log_injection.judge(lines, sent)
    assert not verdict.ok
    assert any("not a JSON record" in f.reason for f in verdict.forgeries)


def test_unescaped_quote_forges_fields() -> None:
    sent = log_injection.payloads()
    lines = _emit(_unsafe, f"failed login for {sent.quote_break}")
    verdict = log_injection.judge(lines, sent)
    assert not verdict.ok
    assert any("became a field of its own" in f.reason for f in verdict.forgeries)


def test_repr_in_an_unsafe_formatter_still_breaks_json() -> None:
    sent = log_injection.payloads()
    lines = _emit(_unsafe, f"failed login for {sent.crlf_record!r}")
    assert not log_injection.judge(lines, sent).ok


def test_plain_text_logs() -> None:
    sent = log_injection.payloads()
    safe = ["2024 INFO [a] boot", f"2024 INFO [a] failed login for {sent.crlf_record!r}"]
    assert log_injection.judge(safe, sent).ok
    unsafe = ["2024 INFO [a] boot", *f"2024 INFO [a] GET {sent.lf_only}".splitlines()]
    verdict = log_injection.judge(unsafe, sent)
    assert not verdict.ok
    assert "line of its own" in verdict.forgeries[0].reason


def test_unrelated_lines_are_ignored() -> None:
    sent = log_injection.payloads()
    assert log_injection.judge(["not json", _safe("x")], sent).marker_lines == 0


def test_payload_line_pattern() -> None:
    sent = log_injection.payloads()
    assert log_injection.PAYLOAD_LINE.search(sent.crlf_record.splitlines()[-1])
    assert log_injection.PAYLOAD_LINE.search(sent.quote_break)
    assert not log_injection.PAYLOAD_LINE.search('{"message": "forged by hand"}')
