"""Each export format checked by the tool its consumers use.

- OSCAL: parsed back with compliance-trestle's models;
- HDF: the parser inspecjs generates from its JSON schemas, then ``saf view summary`` reads the
  file back and its pass/fail/error totals must equal the run's;
- DefectDojo: the generic findings fields DefectDojo's importer requires.

A check that cannot run (tool missing) is ``not_evaluated`` with the reason, never ``valid``.
Node runs through the process guard with no endpoint to reach: it needs no network.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from harness.export.tools import NodeTools, find_node_tools
from harness.guard_process import ProcessGuard
from harness.scope import ScopeGuard

VALIDATOR = Path(__file__).with_name("hdf_validate.js")
DEADLINE_S = 180.0
CheckStatus = Literal["valid", "invalid", "not_evaluated"]


class CheckResult(BaseModel):
    check: str
    status: CheckStatus
    detail: str


def check_oscal(data: dict[str, Any]) -> CheckResult:
    from harness.export.oscal import OscalUnavailable, validate

    name = "OSCAL assessment-results (compliance-trestle models)"
    try:
        validate(data)
    except OscalUnavailable as exc:
        return CheckResult(check=name, status="not_evaluated", detail=str(exc))
    except ValueError as exc:
        first = str(exc).splitlines()
        return CheckResult(check=name, status="invalid", detail="; ".join(first[:3]))
    results = data["assessment-results"].get("results", [])
    findings = sum(len(r.get("findings", [])) for r in results)
    return CheckResult(
        check=name, status="valid", detail=f"parsed back by trestle: {findings} finding(s)"
    )


def _node(tools: NodeTools, argv: list[str], cwd: Path) -> tuple[int | None, str]:
    guard = ProcessGuard(ScopeGuard(["127.0.0.0/8", "::1"]))
    env = {"PATH": str(Path(tools.node).parent), "NODE_PATH": str(tools.modules), "HOME": str(cwd)}
    env["SAF_DISABLE_UPDATE_CHECK"] = "true"
    run = guard.run(argv, reach=[], deadline_s=DEADLINE_S, cwd=cwd, env=env)
    return run.returncode, run.output.strip()


def check_hdf(data: dict[str, Any]) -> list[CheckResult]:
    """Schema check (inspecjs) and read-back (saf view summary)."""
    schema_name = "HDF exec-JSON (inspecjs schema parser)"
    saf_name = "HDF read back (saf view summary)"
    tools = find_node_tools()
    if isinstance(tools, str):
        return [
            CheckResult(check=schema_name, status="not_evaluated", detail=tools),
            CheckResult(check=saf_name, status="not_evaluated", detail=tools),
        ]
    with tempfile.TemporaryDirectory(prefix="harness-hdf-") as tmp:
        folder = Path(tmp)
        path = folder / "hdf.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        code, output = _node(tools, [tools.node, str(VALIDATOR), str(path)], folder)
        last = output.splitlines()[-1] if output else f"no output (exit {code})"
        schema = CheckResult(
            check=schema_name,
            status="valid" if code == 0 and last == "valid" else "invalid",
            detail=last,
        )
        if schema.status != "valid":
            # saf reads what the schema allows; on a malformed file its summary proves nothing.
            skip = "not run: the schema check failed first"
            return [schema, CheckResult(check=saf_name, status="not_evaluated", detail=skip)]
        summary = folder / "summary.json"
        argv = [str(tools.saf), "view", "summary", "-i", str(path), "-f", "json"]
        code, output = _node(tools, [*argv, "-o", str(summary), "--no-stdout"], folder)
        saf = _compare_summary(saf_name, data, summary, code, output)
    return [schema, saf]


def _expected(data: dict[str, Any]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0}
    for profile in data.get("profiles", []):
        for control in profile.get("controls", []):
            if control.get("impact") == 0:
                continue  # saf counts impact 0 as no_impact, whatever the result
            status = control["results"][0]["status"]
            if status in counts:
                counts[status] += 1
    return counts


def _compare_summary(
    name: str, data: dict[str, Any], summary: Path, code: int | None, output: str
) -> CheckResult:
    if code != 0 or not summary.is_file():
        tail = " ".join(output.splitlines()[-3:]) or "no output"
        return CheckResult(check=name, status="invalid", detail=f"saf exit {code}: {tail}")
    try:
        read = json.loads(summary.read_text(encoding="utf-8"))
        profile = read[0]
        seen = {key: int(profile[key]["total"]) for key in ("passed", "failed", "error")}
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return CheckResult(check=name, status="invalid", detail=f"unreadable summary: {exc}")
    expected = _expected(data)
    figures = ", ".join(f"{k} {v}" for k, v in seen.items())
    if seen != expected:
        want = ", ".join(f"{k} {v}" for k, v in expected.items())
        return CheckResult(
            check=name, status="invalid", detail=f"saf read {figures}; the run has {want}"
        )
    return CheckResult(
        check=name,
        status="valid",
        detail=f"saf read {figures} (compliance {profile.get('compliance')}%)",
    )


# DefectDojo's generic findings importer needs these per finding (parser: generic JSON).
_DOJO_REQUIRED = ("title", "description", "severity")
_DOJO_SEVERITIES = {"Critical", "High", "Medium", "Low", "Info"}


def check_defectdojo(data: dict[str, Any]) -> CheckResult:
    name = "DefectDojo generic findings (required fields)"
    findings = data.get("findings")
    if not isinstance(findings, list):
        return CheckResult(check=name, status="invalid", detail="no 'findings' list")
    for index, finding in enumerate(findings):
        missing = [k for k in _DOJO_REQUIRED if not finding.get(k)]
        if missing:
            return CheckResult(
                check=name, status="invalid", detail=f"finding {index}: missing {missing}"
            )
        if finding["severity"] not in _DOJO_SEVERITIES:
            return CheckResult(
                check=name,
                status="invalid",
                detail=f"finding {index}: severity {finding['severity']!r}",
            )
    return CheckResult(check=name, status="valid", detail=f"{len(findings)} finding(s)")
