"""wapiti3 as a subprocess, findings normalised to Finding.

Offline-safe module set: no ``ssl`` (needs sslscan and is SEC-11's job), no ``ssrf``/``xxe``
(they need an external callback endpoint), no brute-forcing or CMS modules. The scan runs
against a URL the caller provides (normally an :class:`~harness.engines.authproxy.AuthProxy`
in front of the target), with a hard time limit enforced twice: wapiti's own
``--max-scan-time`` and a subprocess timeout a little above it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.engines import EngineRun, EngineUnavailable, owasp_for
from harness.findings import Confidence, Finding, Severity

DEFAULT_MODULES = [
    "sql",
    "timesql",
    "xss",
    "permanentxss",
    "redirect",
    "exec",
    "file",
    "crlf",
    "csp",
    "http_headers",
    "cookieflags",
]
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


def wapiti_binary() -> str | None:
    here = Path(sys.executable).parent / "wapiti"
    if here.exists():
        return str(here)
    return shutil.which("wapiti")


def command(
    base_url: str,
    output: Path,
    session_dir: Path,
    *,
    budget_s: float,
    modules: list[str] | None = None,
    openapi_url: str | None = None,
    start_urls: list[str] | None = None,
    scope: str = "folder",
    verify: bool = False,
) -> list[str]:
    binary = wapiti_binary()
    if binary is None:
        raise EngineUnavailable("wapiti is not installed (pip install wapiti3)")
    argv = [
        binary,
        "-u",
        base_url.rstrip("/") + "/",
        "--scope",
        scope,
        "-m",
        ",".join(modules or DEFAULT_MODULES),
        "--flush-session",
        "--store-session",
        str(session_dir),
        "--store-config",
        str(session_dir),
        "--max-scan-time",
        str(int(budget_s)),
        "--max-attack-time",
        str(max(5, int(budget_s / 4))),
        "-f",
        "json",
        "-o",
        str(output),
        "--verify-ssl",
        "1" if verify else "0",
        "-d",
        "3",
        "--max-links-per-page",
        "40",
        "--max-files-per-dir",
        "30",
        "--tasks",
        "8",
        "-t",
        "6",
        "--no-bugreport",
        "-v",
        "0",
    ]
    if openapi_url:
        argv += ["--swagger", openapi_url]
    for url in start_urls or []:
        argv += ["-s", url]
    return argv


def run(
    base_url: str,
    *,
    budget_s: float = 90.0,
    modules: list[str] | None = None,
    openapi_url: str | None = None,
    start_urls: list[str] | None = None,
    map_to: str | None = None,
    workdir: Path | None = None,
) -> EngineRun:
    """Scan ``base_url``; URLs in findings are rewritten from ``base_url`` to ``map_to``."""
    started = time.monotonic()
    folder = Path(workdir or tempfile.mkdtemp(prefix="harness-wapiti-"))
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "wapiti.json"
    argv = command(
        base_url,
        output,
        folder / "session",
        budget_s=budget_s,
        modules=modules,
        openapi_url=openapi_url,
        start_urls=start_urls,
    )
    env = {**os.environ, "HOME": str(folder)}  # wapiti writes its config under ~
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=folder,
        start_new_session=True,
    )
    try:
        log, _ = process.communicate(timeout=budget_s + 45)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        log, _ = process.communicate(timeout=10)
        log += "\n[harness] wapiti killed after its time limit"
    (folder / "wapiti.log").write_text(log or "", encoding="utf-8")
    if not output.exists():
        raise EngineUnavailable(
            f"wapiti wrote no report (exit {process.returncode}): {(log or '').strip()[-500:]}"
        )
    report = json.loads(output.read_text(encoding="utf-8"))
    result = parse_report(
        report, engine_version=str(report.get("infos", {}).get("version", "wapiti"))
    )
    result.target = map_to or base_url
    if map_to:
        for finding in [*result.findings, *result.warnings]:
            if finding.url:
                finding.url = finding.url.replace(base_url.rstrip("/"), map_to.rstrip("/"))
    result.elapsed_s = time.monotonic() - started
    result.raw_path = str(output)
    result.notes.append(f"wapiti exit {process.returncode}; log {folder / 'wapiti.log'}")
    return result


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
