"""wapiti's results as Findings: its JSON report, or its session database when a scan was
stopped before it could write one (the findings so far, and which modules had started)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from harness.engines import EngineRun, owasp_for
from harness.findings import Confidence, Finding, Severity

# wapiti's categories (report keys) -> CWE.
CATEGORY_CWE: dict[str, int] = {
    "SQL Injection": 89,
    "Blind SQL Injection": 89,
    "Cross Site Scripting": 79,
    "Stored Cross Site Scripting": 79,
    "Reflected Cross Site Scripting": 79,
    "Open Redirect": 601,
    "CRLF Injection": 93,
    "Command execution": 78,
    "Path Traversal": 22,
    "Content Security Policy Configuration": 693,
    "HTTP Secure Headers": 693,
    "Secure Flag cookie": 614,
    "HttpOnly Flag cookie": 1004,
    "Cross Site Request Forgery": 352,
    "Server Side Request Forgery": 918,
    "XML External Entity": 611,
    "Internal Server Error": 209,
    "Backup file": 530,
    "Potentially dangerous file": 200,
    "Weak credentials": 521,
    "Htaccess Bypass": 538,
    "Unencrypted Channels": 319,
    "Fingerprint web technology": 200,
    "Resource consumption": 400,
}
# wapiti levels: 4 critical, 3 high, 2 medium, 1 low, 0 info.
LEVELS = {
    4: Severity.CRITICAL,
    3: Severity.HIGH,
    2: Severity.MEDIUM,
    1: Severity.LOW,
    0: Severity.INFO,
}
# Anomalies have no level: a 500 reached by an attack payload is a medium-risk signal.
ANOMALY_SEVERITY = Severity.MEDIUM


def _finding(category: str, item: dict[str, Any], severity: Severity, kind: str) -> Finding:
    cwe = CATEGORY_CWE.get(category)
    path = str(item.get("path") or "")
    return Finding(
        rule=f"wapiti:{item.get('module') or kind}:{category}",
        title=category,
        severity=severity,
        confidence=Confidence.MEDIUM,
        engine="wapiti",
        control="SEC-14",
        cwe=cwe,
        owasp=owasp_for(cwe),
        url=path,
        method=item.get("method"),
        parameter=item.get("parameter") or None,
        evidence=(str(item.get("info") or "") + "\n" + str(item.get("http_request") or "")).strip()[
            :1500
        ]
        or None,
    )


def parse_report(report: dict[str, Any], engine_version: str = "wapiti") -> EngineRun:
    """wapiti's JSON report (``-f json``) as an EngineRun."""
    run = EngineRun(engine=engine_version, target=str(report.get("infos", {}).get("target")))
    for category, items in (report.get("vulnerabilities") or {}).items():
        for item in items or []:
            level = int(item.get("level") or 0)
            run.findings.append(
                _finding(category, item, LEVELS.get(level, Severity.INFO), "vulnerability")
            )
    for category, items in (report.get("anomalies") or {}).items():
        for item in items or []:
            level = item.get("level")
            severity = LEVELS.get(int(level), ANOMALY_SEVERITY) if level else ANOMALY_SEVERITY
            run.findings.append(_finding(category, item, severity, "anomaly"))
    for category, items in (report.get("additionals") or {}).items():
        for item in items or []:
            run.warnings.append(_finding(category, item, Severity.INFO, "additional"))
    return run


def salvage(session_dir: Path) -> tuple[EngineRun, set[str]] | None:
    """The findings a stopped scan had stored in its session database, and the modules that
    had attacked something; None when there is no database to read."""
    databases = sorted(session_dir.glob("*.db")) if session_dir.is_dir() else []
    if not databases:
        return None
    run = EngineRun(engine="wapiti", target="")
    attacked: set[str] = set()
    uri = f"file:{databases[0]}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=2)) as db:
        try:
            rows = db.execute(
                "SELECT p.path, p.method, y.module, y.category, y.level, y.parameter, y.info, "
                "y.type FROM payloads y JOIN paths p ON p.path_id = y.evil_path_id"
            ).fetchall()
            attacked = {str(r[0]) for r in db.execute("SELECT DISTINCT module FROM attack_logs")}
        except sqlite3.Error:
            return None
    for path, method, module, category, level, parameter, info, kind in rows:
        item = {
            "path": path,
            "method": method,
            "module": module,
            "parameter": parameter,
            "info": info,
        }
        if kind == "additional":
            run.warnings.append(_finding(category, item, Severity.INFO, kind))
        else:
            severity = LEVELS.get(int(level or 0), Severity.INFO)
            if kind == "anomaly" and not level:
                severity = ANOMALY_SEVERITY
            run.findings.append(_finding(category, item, severity, kind))
    return run, attacked
