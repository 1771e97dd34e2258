"""DefectDojo's generic findings JSON (its "Generic Findings Import" scan type).

One DefectDojo finding per finding of results.json: the probes' and engines' own, and the one
the harness synthesizes for a failed control that reported none. Controls that passed or were not
evaluated are not findings and are not exported here (OSCAL and HDF carry every control).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from harness.export.refs import control_refs, cwe_url
from harness.findings import Finding
from harness.results import Results

SEVERITY = {
    "critical": "Critical",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    "info": "Info",
}


def _endpoint(url: str | None) -> list[dict[str, Any]]:
    if not url:
        return []
    parts = urlsplit(url)
    entry: dict[str, Any] = {"protocol": parts.scheme, "host": parts.hostname, "path": parts.path}
    if parts.port:
        entry["port"] = parts.port
    return [entry]


def _finding(results: Results, finding: Finding) -> dict[str, Any]:
    control = results.control(finding.control) if finding.control else None
    refs = control_refs(control.refs if control else {}, extra_cwe=finding.cwe)
    owasp = refs.owasp or ([finding.owasp] if finding.owasp else [])
    labels = refs.labels()
    if finding.owasp and finding.owasp not in refs.owasp:
        labels.append(f"OWASP {finding.owasp}:2021")
    lines = [finding.description or finding.title]
    if control is not None:
        lines.append(f"Control {control.id} ({control.title}): {control.claim}")
        if control.reason:
            lines.append(f"Verdict: {control.status.value}: {control.reason}")
    if finding.evidence:
        lines.append(f"Evidence: {finding.evidence}")
    if finding.evidence_paths:
        lines.append("Evidence files: " + ", ".join(finding.evidence_paths))
    where = f"{finding.method or 'GET'} {finding.url}" if finding.url else None
    if where:
        lines.append(f"Location: {where}")
    data: dict[str, Any] = {
        "title": f"{finding.control + ': ' if finding.control else ''}{finding.title}",
        "description": "\n\n".join(lines),
        "severity": SEVERITY[finding.severity.value],
        "date": results.run.end[:10],
        "active": True,
        "verified": finding.confidence.value in {"confirmed", "high"},
        "unique_id_from_tool": finding.id,
        "vuln_id_from_tool": finding.rule,
        "references": "\n".join([*labels, *(cwe_url(c) for c in refs.cwe)]),
        "tags": [t for t in [finding.control, *owasp, *refs.nist] if t],
        "endpoints": _endpoint(finding.url),
        "static_finding": False,
        "dynamic_finding": True,
    }
    if refs.cwe:
        data["cwe"] = finding.cwe or refs.cwe[0]
    if finding.parameter:
        data["param"] = finding.parameter
    if control is not None:
        data["component_name"] = control.area
    return data


def document(results: Results) -> dict[str, Any]:
    return {"findings": [_finding(results, f) for f in results.findings]}
