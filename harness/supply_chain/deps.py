"""SC-02: pip-audit over the target's pinned requirements files, one finding per advisory."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from harness.findings import Confidence, Finding, Severity
from harness.supply_chain.advisories import QUERY_PATH
from harness.supply_chain.tools import Scanners, require_tool
from harness.verdicts import NotEvaluated

ENGINE = "pip-audit"
# pip-audit's default advisory service: used only when the profile's allow-list names it.
PUBLIC_OSV = "https://api.osv.dev/v1/query"


class Advisory(BaseModel):
    id: str
    fix_versions: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    description: str = ""


class AuditedPackage(BaseModel):
    name: str
    version: str | None = None
    vulns: list[Advisory] = Field(default_factory=list)
    skip_reason: str | None = None


class AuditReport(BaseModel):
    dependencies: list[AuditedPackage]


class Vulnerable(BaseModel):
    """One advisory against one pinned package of one file."""

    file: str
    package: str
    version: str
    advisory: Advisory


class AuditResult(BaseModel):
    file: str
    packages: int
    skipped: list[str]
    vulnerable: list[Vulnerable]
    report: dict[str, object]


def audit_file(
    scanners: Scanners,
    name: str,
    path: Path,
    work: Path,
    mirror: tuple[str, int] | None,
) -> AuditResult:
    """pip-audit -r on one pinned file, without resolving (no index is asked for anything)."""
    binary = require_tool("pip-audit", "pip install pip-audit")
    out = work / f"pip-audit-{len(list(work.glob('pip-audit-*')))}.json"
    argv = [
        binary, "-r", str(path), "--no-deps", "--disable-pip", "-f", "json", "-o", str(out),
        "--progress-spinner", "off", "--cache-dir", str(work / "pip-audit-cache"),
        "-s", "osv",
    ]  # fmt: skip
    reach: list[tuple[str, int]] = []
    if mirror is not None:
        host, port = mirror
        argv += ["--osv-url", f"http://{host}:{port}{QUERY_PATH}"]
        reach.append(mirror)
    elif not scanners.allows(PUBLIC_OSV):
        raise NotEvaluated(
            "no advisory source is reachable: the profile names no offline mirror "
            f"(supply_chain.advisories) and {PUBLIC_OSV} is outside scope.allow"
        )
    run = scanners.run(argv, cwd=work, reach=reach, public=mirror is None)
    if not out.is_file():
        raise NotEvaluated(
            f"pip-audit could not audit {name} (no advisory source reachable, or the file is not "
            f"pinned): {_reason(run.output)}"
        )
    try:
        document = json.loads(out.read_text(encoding="utf-8"))
        report = AuditReport.model_validate(document)
    except (OSError, ValueError, ValidationError) as exc:
        raise NotEvaluated(f"pip-audit wrote no readable report for {name}: {exc}") from None
    vulnerable = [
        Vulnerable(file=name, package=p.name, version=p.version or "?", advisory=a)
        for p in report.dependencies
        for a in p.vulns
    ]
    return AuditResult(
        file=name,
        packages=len(report.dependencies),
        skipped=[f"{p.name}: {p.skip_reason}" for p in report.dependencies if p.skip_reason],
        vulnerable=vulnerable,
        report=document,
    )


def to_finding(item: Vulnerable) -> Finding:
    advisory = item.advisory
    fixed = ", ".join(advisory.fix_versions) or "no fixed version"
    return Finding(
        rule=f"pip-audit:{advisory.id}",
        title=f"{item.package} {item.version}: {advisory.id} (fixed in {fixed})",
        severity=Severity.HIGH,
        confidence=Confidence.HIGH,
        engine=ENGINE,
        cwe=1104,
        owasp="A06",
        url=item.file,
        parameter=item.package,
        description=advisory.description[:500] or None,
        evidence=", ".join([advisory.id, *advisory.aliases]),
    )


def _reason(output: str) -> str:
    """The error line of pip-audit's output (a traceback ends with the exception)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors[-1] if errors else lines[-1] if lines else "no output")[:300]
