"""Information disclosure in responses: stack traces, SQL text, debug pages, version banners.

A 500 is not the finding; what it discloses is (scanner-pitfalls.md). Each rule names what it
saw, so the report says "Python traceback in the body of GET /x", not "server error".
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel

from harness.probes.bounded import Fetched

BODY_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "python traceback",
        re.compile(
            r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", "
            r"line \d+"
        ),
    ),
    (
        "java/.NET stack trace",
        re.compile(
            r"\bat [\w$.]+\([\w]+\.java:\d+\)|System\.\w+Exception|"
            r"\bat \w+\.\w+\(.*\) in .*:line \d+"
        ),
    ),
    ("node stack trace", re.compile(r"\bat .+ \((/|node:)[^)]+:\d+:\d+\)")),
    ("php error", re.compile(r"<b>(Fatal error|Warning|Parse error)</b>:|\.php on line \d+")),
    (
        "SQL text or driver error",
        re.compile(
            r"\b(SELECT\s+[\w.*, ]+\s+FROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b|"
            r"psycopg|sqlalchemy\.exc|SQLSTATE|syntax error at or near|ProgrammingError|"
            r"IntegrityError|DataError|you have an error in your sql syntax",
            re.IGNORECASE,
        ),
    ),
    (
        "debug page",
        re.compile(
            r"Werkzeug Debugger|Django Version:|Whoops!|<title>.*Traceback|"
            r"DEBUG\s*=\s*True|Exception Value:|starlette\.exceptions|"
            r"uvicorn\.protocols",
            re.IGNORECASE,
        ),
    ),
    (
        "filesystem path of the code",
        re.compile(
            r"(/usr/lib/python3|/site-packages/|"
            r"/home/\w+/|[A-Z]:\\\\(Users|inetpub))"
        ),
    ),
]
# Version numbers in banners: "nginx/1.22.1", "uvicorn 0.30", "Python/3.11", "PHP/8.2".
VERSION = re.compile(r"[A-Za-z][\w.-]*[/ ]v?\d+(\.\d+)+")
BANNER_HEADERS = (
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-runtime",
    "x-generator",
    "x-version",
)


class Disclosure(BaseModel):
    url: str
    method: str
    status: int
    where: str  # "body" or a header name
    rule: str
    excerpt: str
    # "medium" for what names code, queries or versions; "low" for a bare product name, which
    # still tells an attacker what to look up (ZAP rules 10036/10037 report both).
    severity: str = "medium"

    def describe(self) -> str:
        return (
            f"{self.method} {self.url} [{self.status}] {self.rule} ({self.severity}) "
            f"in {self.where}: {self.excerpt!r}"
        )


def disclosures(response: Fetched, own_server_names: Collection[str] = ()) -> list[Disclosure]:
    """What ``response`` discloses. ``own_server_names``: Server values the profile declares
    as the target's own name (``target.own_server_names``), accepted exactly as written."""
    found: list[Disclosure] = []
    for rule, pattern in BODY_RULES:
        match = pattern.search(response.body or "")
        if match:
            start = max(match.start() - 60, 0)
            found.append(
                Disclosure(
                    url=response.url,
                    method=response.method,
                    status=response.status,
                    where="body",
                    rule=rule,
                    excerpt=response.body[start : match.end() + 120],
                )
            )
    for name in BANNER_HEADERS:
        value = (response.header(name) or "").strip()
        if not value or (name == "server" and value in own_server_names):
            continue  # absent, empty, or the target's own declared name: names no product
        found.append(
            Disclosure(
                url=response.url,
                method=response.method,
                status=response.status,
                where=name,
                rule=banner_rule(name, value),
                excerpt=value,
                severity="medium" if VERSION.search(value) else "low",
            )
        )
    return found


def banner_rule(header: str, value: str) -> str:
    """A version is the worse disclosure; a bare product name ("nginx", "FastAPI") is one too,
    at a lower severity: it still says which advisories to try."""
    if VERSION.search(value):
        return "version banner"
    return "product banner" if header == "server" else "framework banner"


def folded(found: list[Disclosure]) -> list[tuple[Disclosure, int]]:
    """One entry per header banner value (with how many responses carried it) and one per body
    disclosure: a banner on every page of a 40-page walk is one finding, not forty."""
    out: dict[tuple[str, ...], list[Any]] = {}
    for disclosure in found:
        if disclosure.where == "body":
            key: tuple[str, ...] = (disclosure.url, disclosure.rule)
        else:
            key = (disclosure.rule, disclosure.where, disclosure.excerpt)
        if key in out:
            out[key][1] += 1
        else:
            out[key] = [disclosure, 1]
    return [(d, n) for d, n in out.values()]


def describe_folded(entry: tuple[Disclosure, int]) -> str:
    disclosure, count = entry
    more = f" (and {count - 1} more responses)" if count > 1 else ""
    return disclosure.describe()[:400] + more
