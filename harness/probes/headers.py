"""Security response headers, checked on one response at a time.

A grader that looks only at ``/`` misses the error pages a framework answers outside the
middleware that sets the headers (scanner-pitfalls.md); the suite feeds every response class
through :func:`check_security_headers`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from harness.probes.bounded import Fetched

MIN_HSTS_MAX_AGE = 31_536_000
# no-referrer-when-downgrade and unsafe-url send the full URL to other sites: not safe values.
SAFE_REFERRER_POLICIES = frozenset(
    {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
)


class HeaderIssue(BaseModel):
    url: str
    status: int
    header: str
    problem: str
    value: str | None = None

    def describe(self) -> str:
        shown = f" (value: {self.value!r})" if self.value is not None else ""
        return f"{self.url} [{self.status}] {self.header}: {self.problem}{shown}"


def parse_csp(value: str) -> dict[str, list[str]]:
    """Directive name -> source list; the first occurrence of a directive wins (CSP3 §2.2)."""
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        tokens = part.strip().split()
        if not tokens:
            continue
        name = tokens[0].lower()
        directives.setdefault(name, [t.lower() for t in tokens[1:]])
    return directives


def csp_problems(value: str) -> list[str]:
    directives = parse_csp(value)
    script = directives.get("script-src-elem") or directives.get("script-src")
    source_name = "script-src"
    if script is None:
        script = directives.get("default-src")
        source_name = "default-src"
    problems: list[str] = []
    if script is None:
        problems.append("neither script-src nor default-src restricts scripts")
        return problems
    # 'unsafe-inline' is ignored by browsers when a nonce or hash is present (CSP2+).
    has_nonce_or_hash = any(
        t.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for t in script
    )
    if "'unsafe-inline'" in script and not has_nonce_or_hash:
        problems.append(f"{source_name} allows 'unsafe-inline'")
    if "'unsafe-eval'" in script:
        problems.append(f"{source_name} allows 'unsafe-eval'")
    if "*" in script or "data:" in script:
        problems.append(f"{source_name} allows any source ('*' or data:)")
    return problems


def frame_protected(headers: dict[str, str]) -> bool:
    xfo = headers.get("x-frame-options", "").strip().upper()
    if xfo in ("DENY", "SAMEORIGIN"):
        return True
    ancestors = parse_csp(headers.get("content-security-policy", "")).get("frame-ancestors")
    return ancestors is not None and "*" not in ancestors and ancestors != []


def check_security_headers(response: Fetched, *, https: bool = True) -> list[HeaderIssue]:
    """Every issue with the security headers of one response (empty list = compliant)."""
    h = response.headers
    issues: list[HeaderIssue] = []

    def issue(header: str, problem: str, value: str | None = None) -> None:
        issues.append(
            HeaderIssue(
                url=response.url,
                status=response.status,
                header=header,
                problem=problem,
                value=value,
            )
        )

    csp = h.get("content-security-policy")
    if csp is None:
        issue("Content-Security-Policy", "missing")
    else:
        for problem in csp_problems(csp):
            issue("Content-Security-Policy", problem, csp)
    if https:
        hsts = h.get("strict-transport-security")
        if hsts is None:
            issue("Strict-Transport-Security", "missing")
        else:
            match = re.search(r"max-age\s*=\s*\"?(\d+)", hsts, re.IGNORECASE)
            if not match:
                issue("Strict-Transport-Security", "no max-age", hsts)
            elif int(match.group(1)) < MIN_HSTS_MAX_AGE:
                issue(
                    "Strict-Transport-Security",
                    f"max-age {match.group(1)} is below {MIN_HSTS_MAX_AGE} (one year)",
                    hsts,
                )
    if not frame_protected(h):
        issue(
            "X-Frame-Options",
            "no frame protection (X-Frame-Options DENY/SAMEORIGIN or CSP frame-ancestors)",
            h.get("x-frame-options"),
        )
    nosniff = h.get("x-content-type-options")
    if (nosniff or "").strip().lower() != "nosniff":
        issue("X-Content-Type-Options", "not 'nosniff'" if nosniff else "missing", nosniff)
    referrer = h.get("referrer-policy")
    if referrer is None:
        issue("Referrer-Policy", "missing")
    else:
        # The last recognised token of a comma-separated list is the one browsers apply.
        tokens = [t.strip().lower() for t in referrer.split(",") if t.strip()]
        if not tokens or tokens[-1] not in SAFE_REFERRER_POLICIES:
            issue("Referrer-Policy", "not a safe value", referrer)
    if "permissions-policy" not in h:
        issue("Permissions-Policy", "missing")
    return issues
