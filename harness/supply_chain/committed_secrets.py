"""SC-06: detect-secrets over the staged source tree, one finding per secret (never its value)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from harness.findings import Confidence, Finding, Severity
from harness.supply_chain.tools import Scanners, require_tool
from harness.verdicts import NotEvaluated

ENGINE = "detect-secrets"


class Secret(BaseModel):
    file: str
    line: int
    type: str


def scan_secrets(scanners: Scanners, tree: Path, work: Path) -> tuple[list[Secret], list[str]]:
    """The secrets detect-secrets reports in ``tree`` (every file, tracked or not), and the
    plugins it ran."""
    binary = require_tool("detect-secrets", "pip install detect-secrets")
    run = scanners.run([binary, "scan", "--all-files", "."], cwd=tree)
    text = run.output
    start = text.find("{")
    try:
        report = json.loads(text[start:]) if start >= 0 else None
    except ValueError:
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("results"), dict):
        raise NotEvaluated(
            f"detect-secrets printed no report (exit {run.returncode}): {text.strip()[-300:]}"
        )
    secrets = [
        Secret(file=name, line=int(item.get("line_number", 0)), type=str(item.get("type", "?")))
        for name, items in sorted(report["results"].items())
        for item in items
    ]
    plugins = [str(p.get("name")) for p in report.get("plugins_used", []) if isinstance(p, dict)]
    return secrets, plugins


def to_finding(secret: Secret) -> Finding:
    return Finding(
        rule=f"detect-secrets:{secret.type}",
        title=f"{secret.type} committed in {secret.file}",
        severity=Severity.HIGH,
        confidence=Confidence.MEDIUM,
        engine=ENGINE,
        cwe=798,
        owasp="A02",
        url=f"{secret.file}:{secret.line}",
    )
