"""The auditor's summary at the top of the report: scope, standards, exceptions, how to verify.

Counts use the status after the gate's waivers (what the report shows); a standard's line says
how many of the controls citing it passed, so partial coverage is visible, never rounded up.
"""

from __future__ import annotations

from typing import Any

from harness.export.refs import STANDARDS, control_refs
from harness.report.common import effective_status
from harness.results import Results
from harness.verdicts import Verdict


def _standards(results: Results) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {
        key: {"key": key, "title": title, "controls": 0, "passed": 0, "failed": 0, "ids": set()}
        for key, title in STANDARDS.items()
    }
    for control in results.controls:
        status = effective_status(results, control)
        for key, ids in control_refs(control.refs).by_standard().items():
            row = rows[key]
            row["controls"] += 1
            row["ids"].update(ids)
            if status == Verdict.PASS:
                row["passed"] += 1
            elif status in {Verdict.FAIL, Verdict.ERROR}:
                row["failed"] += 1
    out = []
    for row in rows.values():
        if not row["controls"]:
            continue
        row["other"] = row["controls"] - row["passed"] - row["failed"]
        row["ids"] = len(row["ids"])
        out.append(row)
    return out


def auditor_context(results: Results, folder_hint: str = "<run folder>") -> dict[str, Any]:
    run = results.run
    gate = results.gate
    return {
        "scope": [
            ("Target", run.target or "unknown"),
            ("Version", f"release {run.release}" if run.release else "not reported"),
            ("Mode", run.safety[0] if run.safety else "not recorded"),
            ("Profile", run.profile or "-"),
            ("Areas", ", ".join(run.areas) or "-"),
            ("Catalog", "every control (strict)" if run.strict_catalog else "a partial run"),
            ("Seeded faults", ", ".join(run.faults) or "none (the target as deployed)"),
            ("Period", f"{run.start} to {run.end}"),
            ("Harness", run.harness_version + (f" ({run.git_sha[:12]})" if run.git_sha else "")),
        ],
        "standards": _standards(results),
        "gate_ran": gate is not None,
        "waivers": [w.model_dump() for w in gate.waivers] if gate else [],
        "key": run.signing_key,
        "verify": f"harness verify {folder_hint}",
    }
