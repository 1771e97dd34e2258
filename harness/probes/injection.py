"""SQL injection: error-based, boolean-based and time-based probes, each with controls.

Every signal is compared against benign inputs so an app whose output merely depends on the
input's *length* or content is not reported (scanner-pitfalls.md):

* error-based: a lone quote breaks the query (5xx or database error text) while a
  length-matched benign value and the *balanced* quote (``''``, which SQL reads as an escaped
  quote) do not;
* boolean-based: a true/false pair of *equal length* gives different answers while two benign
  values of that same length give the same answer, confirmed by a second independent pair;
* time-based: a sleep payload is slower than the baseline by most of the sleep, twice.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.findings import Confidence, Finding, Severity
from harness.operations import Point, build_request
from harness.probes.bounded import Fetched

Send = Callable[..., Fetched]

DB_ERRORS = re.compile(
    r"syntax error at or near|unterminated quoted string|pg_query|psycopg|PG::|"
    r"SQLSTATE|sqlalchemy\.exc|ProgrammingError|OperationalError|"
    r"you have an error in your sql syntax|mysql_fetch|ORA-\d{5}|SQLite3?::|sqlite3\.|"
    r"unrecognized token|near \".*\": syntax error|quoted string not properly terminated",
    re.IGNORECASE,
)
# Quote-context-robust pairs: the true and false halves have the same length, and both keep
# the query valid whether the value sits in '...' or in LIKE '%...%' (trailing text absorbed).
STRING_PAIRS = [("' OR 'a' LIKE 'a", "' OR 'b' LIKE 'a"), ("' OR 'b'>'a", "' OR 'a'>'b")]
NUMBER_PAIRS = [(" OR 1=1", " OR 1=2"), (" OR 2>1", " OR 1>2")]
SLEEPS = [
    ("postgresql", "'||(SELECT '' FROM pg_sleep({s}))||'"),
    ("mysql", "'||SLEEP({s})||'"),
    ("postgresql-numeric", " AND 1=(SELECT 1 FROM pg_sleep({s}))"),
]
# An identifier (a sort key, a column) spelled validly and broken: same identifier, SQL grammar.
IDENTIFIER_PAIRS = [("({d})", "({d}"), ("{d},{d}", "{d},"), ("{d} DESC", "{d} DESCX")]
_VOLATILE = re.compile(
    r"\"(correlation_id|request_id|time|timestamp|created_at|updated_at|issued_at)\"\s*:\s*"
    r"\"[^\"]*\"|[0-9a-f]{32}|\d{4}-\d{2}-\d{2}T[\d:.+Z-]+"
)


class Attempt(BaseModel):
    label: str
    value: str
    status: int
    length: int
    elapsed_s: float
    excerpt: str = ""


# Answers that mean the request never reached the operation's code: no answer, refused
# credentials, throttled. A parameter probed only through these was not checked.
NOT_REACHED = frozenset({0, 401, 403, 407, 429})


class PointResult(BaseModel):
    point: str
    technique: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    finding: Finding | None = None
    # An observation short of a finding, e.g. "random -> 5xx, default -> 2xx": the value
    # sits where only known words work (a column, a sort key), and is worth a look.
    signal: str | None = None

    @property
    def reached(self) -> bool:
        """The baseline request got past authentication and throttling."""
        return bool(self.attempts) and self.attempts[0].status not in NOT_REACHED


def _rand(n: int) -> str:
    # Letters only: benign controls must not contain SQL metacharacters.
    return "".join(random.choice(string.ascii_lowercase) for _ in range(max(n, 1)))


def normalise(body: str) -> str:
    """Response text with per-request noise (ids, times) removed, for equality tests."""
    return _VOLATILE.sub("", body)


def documented_value(point: Point) -> str | None:
    """The value the document says works: its default, else its first enum member or example."""
    schema = point.schema_
    for candidate in (
        schema.get("default"),
        *(schema.get("enum") or [])[:1],
        schema.get("example"),
        *(schema.get("examples") or [])[:1],
    ):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _is_numeric(point: Point) -> bool:
    return point.schema_.get("type") in ("integer", "number")


class SqliProbe:
    def __init__(
        self, send: Send, ids: dict[str, Any], *, sleep_s: float = 2.0, request_s: float = 8.0
    ) -> None:
        self.send = send
        self.ids = ids
        self.sleep_s = sleep_s
        self.request_s = request_s

    def _try(self, point: Point, value: Any, label: str, result: PointResult) -> Fetched:
        method, path, kwargs = build_request(
            point.op, self.ids, (point.location, point.name, value)
        )
        response = self.send(method, path, total_s=self.request_s, **kwargs)
        result.attempts.append(
            Attempt(
                label=label,
                value=str(value),
                status=response.status,
                length=len(response.body),
                elapsed_s=round(response.elapsed_s, 3),
                excerpt=response.body[:300],
            )
        )
        return response

    def run(self, point: Point) -> PointResult:
        result = PointResult(point=point.label)
        base = _rand(6)
        baseline = self._try(point, base, "baseline", result)
        if baseline.status in NOT_REACHED:
            return result  # unreachable, refused or throttled: nothing to compare against
        if baseline.status >= 500:
            # A random word already breaks the operation: quoted and numeric techniques cannot
            # tell a quote apart. The value may be an identifier (ORDER BY, a column name).
            finding = self._identifier_based(point, base, baseline, result)
            if finding is not None:
                result.technique = finding.rule
                result.finding = finding
            return result
        for technique in (self._error_based, self._boolean_based, self._time_based):
            finding = technique(point, base, baseline, result)
            if finding is not None:
                result.technique = finding.rule
                result.finding = finding
                break
        return result

    # -- techniques ------------------------------------------------------------------------
    def _finding(
        self, point: Point, rule: str, title: str, evidence: str, confidence: Confidence
    ) -> Finding:
        method, path, _ = build_request(point.op, self.ids)
        return Finding(
            rule=f"probe:{rule}",
            title=title,
            severity=Severity.HIGH,
            confidence=confidence,
            control="SEC-05",
            cwe=89,
            owasp="A03",
            url=path,
            method=method,
            parameter=f"{point.location}:{point.name}",
            evidence=evidence[:2000],
        )

    def _error_based(
        self, point: Point, base: str, baseline: Fetched, result: PointResult
    ) -> Finding | None:
        if baseline.status >= 500:
            return None  # the operation fails anyway: a quote cannot be told apart
        broken = self._try(point, base + "'", "single quote", result)
        text_hit = DB_ERRORS.search(broken.body or "") and not DB_ERRORS.search(baseline.body)
        if broken.status < 500 and not text_hit:
            return None
        control = self._try(point, base + "x", "length-matched benign", result)
        balanced = self._try(point, base + "''", "balanced quotes", result)
        if control.status >= 500 or control.status == 0 or DB_ERRORS.search(control.body):
            return None  # the app fails on any change of this input: not a quote effect
        if balanced.status >= 500 and not text_hit:
            return None  # '' fails too: more likely a length/charset effect than SQL
        return self._finding(
            point,
            "sqli-error",
            "SQL injection (error-based)",
            f"{point.label}: {base + chr(39)!r} -> HTTP {broken.status} "
            f"{'with database error text ' if text_hit else ''}({broken.body[:200]!r}); "
            f"benign {base + 'x'!r} -> HTTP {control.status}; balanced {base + chr(39) * 2!r} "
            f"-> HTTP {balanced.status}",
            Confidence.HIGH if text_hit or balanced.status < 500 else Confidence.MEDIUM,
        )

    def _identifier_based(
        self, point: Point, base: str, baseline: Fetched, result: PointResult
    ) -> Finding | None:
        """Identifier context: the documented default works, SQL grammar around it decides.

        Valid SQL spellings of the same identifier (``(d)``, ``d,d``, ``d DESC``) must all
        answer 2xx and their broken twins (``(d``, ``d,``, ``d DESCX``) 5xx: an allow-list
        of known values rejects both alike, only a query that parses the value tells them
        apart.
        """
        default = documented_value(point)
        if default is None:
            return None
        usual = self._try(point, default, "documented default", result)
        if not 200 <= usual.status < 300:
            return None
        result.signal = (
            f"random {base!r} -> HTTP {baseline.status}, default {default!r} -> HTTP {usual.status}"
        )
        lines = [result.signal]
        for valid, broken in IDENTIFIER_PAIRS:
            good = self._try(point, valid.format(d=default), "valid SQL spelling", result)
            bad = self._try(point, broken.format(d=default), "broken SQL spelling", result)
            if not (200 <= good.status < 300 and bad.status >= 500):
                return None
            lines.append(
                f"{valid.format(d=default)!r} -> HTTP {good.status}, "
                f"{broken.format(d=default)!r} -> HTTP {bad.status}"
            )
        return self._finding(
            point,
            "sqli-identifier",
            "SQL injection (identifier context, e.g. ORDER BY)",
            f"{point.label}: " + "; ".join(lines),
            Confidence.HIGH,
        )

    def _boolean_based(
        self, point: Point, base: str, baseline: Fetched, result: PointResult
    ) -> Finding | None:
        pairs = NUMBER_PAIRS if _is_numeric(point) else STRING_PAIRS
        prefix = "1" if _is_numeric(point) else base
        confirmed: list[str] = []
        for true_tail, false_tail in pairs:
            length = len(true_tail)
            a = self._try(point, prefix + _rand(length), "benign control A", result)
            b = self._try(point, prefix + _rand(length), "benign control B", result)
            if (a.status, normalise(a.body)) != (b.status, normalise(b.body)):
                return None  # the answer depends on the value itself: no stable baseline
            true = self._try(point, prefix + true_tail, "true condition", result)
            false = self._try(point, prefix + false_tail, "false condition", result)
            if true.status >= 500 or false.status >= 500:
                return None
            if {0, 429} & {a.status, b.status, true.status, false.status}:
                return None  # throttled or unanswered: the answers say nothing about the query
            same_false = (false.status, normalise(false.body)) == (a.status, normalise(a.body))
            differs = (true.status, normalise(true.body)) != (false.status, normalise(false.body))
            if not (same_false and differs):
                return None
            confirmed.append(
                f"{prefix + true_tail!r} -> HTTP {true.status}, "
                f"{len(true.body)} bytes; {prefix + false_tail!r} -> HTTP "
                f"{false.status}, {len(false.body)} bytes (= benign controls)"
            )
        return self._finding(
            point,
            "sqli-boolean",
            "SQL injection (boolean-based)",
            f"{point.label}: " + " | ".join(confirmed),
            Confidence.HIGH,
        )

    def _time_based(
        self, point: Point, base: str, baseline: Fetched, result: PointResult
    ) -> Finding | None:
        threshold = baseline.elapsed_s + self.sleep_s * 0.8
        for dialect, template in SLEEPS:
            if dialect.endswith("numeric") != _is_numeric(point):
                continue
            prefix = "1" if _is_numeric(point) else base
            first = self._try(
                point, prefix + template.format(s=self.sleep_s), f"sleep {dialect}", result
            )
            if first.elapsed_s < threshold:
                continue
            # Confirm: a benign value of the same length is fast, and the sleep repeats.
            control = self._try(
                point,
                prefix + _rand(len(template.format(s=self.sleep_s))),
                "length-matched benign",
                result,
            )
            second = self._try(
                point, prefix + template.format(s=self.sleep_s), f"sleep {dialect} again", result
            )
            if control.elapsed_s < threshold and second.elapsed_s >= threshold:
                return self._finding(
                    point,
                    "sqli-time",
                    "SQL injection (time-based)",
                    f"{point.label}: {dialect} sleep {self.sleep_s}s -> {first.elapsed_s:.2f}s "
                    f"and {second.elapsed_s:.2f}s; baseline {baseline.elapsed_s:.2f}s, benign "
                    f"control {control.elapsed_s:.2f}s",
                    Confidence.HIGH,
                )
        return None


def summarise(results: list[PointResult]) -> dict[str, Any]:
    return {
        "points": len(results),
        "requests": sum(len(r.attempts) for r in results),
        "findings": [r.finding.model_dump(mode="json") for r in results if r.finding],
        "signals": [f"{r.point}: {r.signal}" for r in results if r.signal],
    }


def dumps(results: list[PointResult]) -> str:
    return json.dumps([r.model_dump(mode="json") for r in results], indent=1)[:200_000]
