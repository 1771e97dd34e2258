"""Log injection: user input with CR/LF and JSON fragments must stay inside one log record.

Every payload carries a marker unique to the run and a "forged" token. Two ways an unsafe
JSON logger gives in:
- a raw line break splits the record: a line with the marker no longer parses, and the next
  line may parse as a record of the attacker's making;
- an unescaped quote closes the string early: the line parses, but the payload's keys
  (``"level": "CRITICAL"``, ``"message": "forged..."``) became real fields.
The judge therefore fails on (a) a line with the marker that is not a JSON object and (b) a
record in which the forged token starts a value of its own (the payload's quoted message
became the record's message).
A safe logger keeps the whole payload inside one string value.

Plain-text logs (the profile's ``[logs] format = "regex"``) have no string to close, so the
judge asks where a line *starts*. Every line the app writes for a request begins with its own
prefix (time, level, logger, correlation id, as the pattern reads them) and quotes the input
inside the message. The payload's marker comes before its line break and the forged token after
it, so a line carrying the forged token without the marker began at the payload's line break:
the input started a line of its own, a forgery whether or not it also parses as a record (the
"plain-line" payload imitates a plain-text record to make it parse). A line carrying the marker
must still parse as a record, and none of the line's own fields (time, level, logger,
correlation id) may carry payload text, which would mean the input reached the prefix.
A target whose profile says JSON but whose lines are mostly not JSON is judged the same way on
the forged token alone: its missing structure is OBS-03's claim, not this control's.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from harness import logs

FORGED_LEVEL = "CRITICAL"
# Lines carrying any run's payload (marker or forged token). Other controls that judge the
# whole log (OBS-03) leave these to OBS-06, so a concurrent injection probe cannot make their
# verdict depend on test ordering.
PAYLOAD_LINE = re.compile(r"LOGINJ[0-9a-f]{12}|forged[0-9a-f]{12}")


class Payloads(BaseModel):
    marker: str
    forged: str = Field(description="token that only a forged field value would start with")

    @property
    def crlf_record(self) -> str:
        """A line break followed by a complete JSON record."""
        record = json.dumps(
            {
                "time": "2001-01-01T00:00:00Z",
                "level": FORGED_LEVEL,
                "logger": "forged",
                "message": self.forged,
            }
        )
        return f"{self.marker}\r\n{record}"

    @property
    def quote_break(self) -> str:
        """Closes the message string and adds forged keys (works without any line break)."""
        return f'{self.marker}", "level": "{FORGED_LEVEL}", "message": "{self.forged}'

    @property
    def plain_line(self) -> str:
        """A line break followed by something shaped like a plain-text log record."""
        return f"{self.marker}\n2001-01-01T00:00:00.000Z {FORGED_LEVEL} forged {self.forged}"

    @property
    def lf_only(self) -> str:
        return f'{self.marker}\n{{"level": "{FORGED_LEVEL}", "message": "{self.forged}"}}'

    def all(self) -> dict[str, str]:
        return {
            "crlf+record": self.crlf_record,
            "quote-break": self.quote_break,
            "lf+record": self.lf_only,
            "plain-line": self.plain_line,
        }

    def header_safe(self) -> dict[str, str]:
        """Payloads that can travel in a header value (no CR/LF)."""
        return {"quote-break": self.quote_break}


def payloads() -> Payloads:
    token = secrets.token_hex(6)
    return Payloads(marker=f"LOGINJ{token}", forged=f"forged{token}")


class Forgery(BaseModel):
    index: int
    line: str
    reason: str


class InjectionVerdict(BaseModel):
    marker_lines: int = 0
    marker_records: int = 0
    forgeries: list[Forgery] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.forgeries and self.marker_lines == self.marker_records


def _forged_value(record: dict[str, Any], forged: str) -> str | None:
    for key, value in record.items():
        if isinstance(value, str) and value.startswith(forged):
            return f"field {key!r} = {value[:80]!r}"
        if isinstance(value, dict):
            inner = _forged_value(value, forged)
            if inner:
                return f"{key}.{inner}"
    return None


def judge(
    lines: Sequence[str], sent: Payloads, parser: logs.LogParser = logs.JSON_LINES
) -> InjectionVerdict:
    """JSON logs: records must stay whole. A regex log format: no line may start inside the
    payload, and payload lines stay records. JSON promised but not written: the payload must
    not be split, i.e. every line with the forged token also has the marker."""
    if not parser.structured:
        return _judge_pattern(lines, sent, parser)
    if not _structured(lines, sent):
        return _judge_plain(lines, sent)
    verdict = InjectionVerdict()
    for index, line in enumerate(lines):
        has_marker = sent.marker in line
        has_forged = sent.forged in line
        if not (has_marker or has_forged):
            continue
        verdict.evidence.append(line[:2000])
        record = logs.parse_record(line)
        if has_marker:
            verdict.marker_lines += 1
            if record is not None:
                verdict.marker_records += 1
        if record is None:
            verdict.forgeries.append(
                Forgery(
                    index=index,
                    line=line[:500],
                    reason="a line carrying the payload is not a JSON record (the input broke it)",
                )
            )
            continue
        forged = _forged_value(record, sent.forged)
        if forged:
            verdict.forgeries.append(
                Forgery(
                    index=index,
                    line=line[:500],
                    reason=f"the payload became a field of its own: {forged}",
                )
            )
            continue
    return verdict


def _structured(lines: Sequence[str], sent: Payloads) -> bool:
    """Is this a JSON-lines log? Judged on the lines the payloads did not touch (they may be
    broken on purpose); without such lines, on whether the touched ones look like JSON."""
    other = [
        line
        for line in lines
        if line.strip() and sent.marker not in line and sent.forged not in line
    ]
    if other:
        return sum(1 for line in other if logs.parse_record(line) is not None) * 2 >= len(other)
    return any(line.lstrip().startswith("{") for line in lines)


# The fields a plain-text prefix holds; the message is where quoted input belongs.
_PREFIX_FIELDS = ("time", "level", "logger", "correlation_id")


def _judge_pattern(
    lines: Sequence[str], sent: Payloads, parser: logs.LogParser
) -> InjectionVerdict:
    verdict = InjectionVerdict()
    for index, line in enumerate(lines):
        has_marker = sent.marker in line
        if not has_marker and sent.forged not in line:
            continue
        verdict.evidence.append(line[:2000])
        record = parser.parse(line)
        if not has_marker:
            shape = "and parses as a record" if record is not None else "(not a record)"
            verdict.forgeries.append(
                Forgery(
                    index=index,
                    line=line[:500],
                    reason=f"the payload's line break started a log line of its own {shape}",
                )
            )
            continue
        verdict.marker_lines += 1
        if record is None:
            verdict.forgeries.append(
                Forgery(
                    index=index,
                    line=line[:500],
                    reason="a line carrying the payload does not match the log pattern "
                    "(the input broke it)",
                )
            )
            continue
        verdict.marker_records += 1
        reached = [
            name
            for name in _PREFIX_FIELDS
            if any(token in str(record.get(name, "")) for token in (sent.marker, sent.forged))
        ]
        if reached:
            verdict.forgeries.append(
                Forgery(
                    index=index,
                    line=line[:500],
                    reason=f"the payload reached the line's own field(s) {', '.join(reached)}",
                )
            )
    return verdict


def _judge_plain(lines: Sequence[str], sent: Payloads) -> InjectionVerdict:
    verdict = InjectionVerdict()
    for index, line in enumerate(lines):
        if sent.marker not in line and sent.forged not in line:
            continue
        verdict.evidence.append(line[:2000])
        if sent.marker in line:
            verdict.marker_lines += 1
            verdict.marker_records += 1
        else:
            verdict.forgeries.append(
                Forgery(
                    index=index,
                    line=line[:500],
                    reason="the payload's line break started a log line of its own",
                )
            )
    return verdict
