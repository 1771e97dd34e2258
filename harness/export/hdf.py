"""MITRE Heimdall Data Format (HDF, InSpec's exec JSON) from results.json.

One profile (the harness catalog), one HDF control per harness control. HDF's vocabulary:
``passed``/``failed``/``error``/``skipped`` results, ``impact`` 0 for not applicable, and
``tags.nist`` carries the NIST SP 800-53 ids Heimdall and SAF group by. Controls the harness did
not evaluate are ``skipped`` with the reason as ``skip_message`` (never passed or failed); a
waived control keeps its failed result and carries the waiver as ``waiver_data``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.export.refs import control_refs, cwe_url
from harness.results import ControlResult, Results
from harness.verdicts import Verdict

IMPACT = {"critical": 0.9, "high": 0.7, "medium": 0.5, "low": 0.3}
_RESULT_STATUS = {
    Verdict.PASS: "passed",
    Verdict.FAIL: "failed",
    Verdict.WAIVED: "failed",
    Verdict.ERROR: "error",
    Verdict.NOT_EVALUATED: "skipped",
    Verdict.NOT_APPLICABLE: "skipped",
    Verdict.PLANNED: "skipped",
}


def _control(results: Results, control: ControlResult) -> dict[str, Any]:
    refs = control_refs(control.refs)
    gate = results.gate
    status = gate.statuses.get(control.id, control.status) if gate else control.status
    outcome = _RESULT_STATUS[status]
    result: dict[str, Any] = {
        "status": outcome,
        "code_desc": f"{control.id}: {control.claim or control.title}",
        "run_time": control.duration_s,
        "start_time": results.run.start,
    }
    if outcome == "skipped":
        result["skip_message"] = f"{status.value}: {control.reason or 'no reason recorded'}"
    elif control.reason:
        result["message"] = control.reason
    tags: dict[str, Any] = {
        # SAF and Heimdall read NIST ids here; an empty list would claim no mapping exists.
        "nist": refs.nist or ["UM-1"],
        "severity": control.severity,
        "harness_status": status.value,
    }
    for key, ids in refs.by_standard().items():
        if key != "nist":
            tags[key] = ids
    data: dict[str, Any] = {
        "id": control.id,
        "title": control.title,
        "desc": control.claim,
        "descriptions": [
            {"label": "default", "data": control.claim},
            {"label": "check", "data": control.method},
        ],
        "impact": 0.0 if status == Verdict.NOT_APPLICABLE else IMPACT.get(control.severity, 0.5),
        "refs": [{"url": cwe_url(c), "ref": f"CWE-{c}"} for c in refs.cwe],
        "tags": tags,
        "code": "",
        "source_location": {"ref": f"harness catalog: {control.id}", "line": None},
        "results": [result],
    }
    if status == Verdict.WAIVED:
        note = next((n for n in gate.notes if n.subject == control.id), None) if gate else None
        data["waiver_data"] = {
            "justification": note.message if note else "waived by the gate's policy",
            "run": True,
            "skipped_due_to_waiver": False,
            "message": control.reason or "",
        }
    return data


def document(results: Results) -> dict[str, Any]:
    """The HDF exec-JSON document of a run."""
    run = results.run
    controls = [_control(results, c) for c in results.controls]
    digest = hashlib.sha256(json.dumps(controls, sort_keys=True).encode()).hexdigest()
    return {
        "platform": {
            "name": "soulspot-harness",
            "release": run.harness_version,
            "target_id": run.target,
        },
        "version": run.harness_version,
        "statistics": {"duration": run.duration_s},
        "profiles": [
            {
                "name": "harness-catalog",
                "title": f"Harness controls: {run.target or run.profile or run.id}",
                "version": run.harness_version,
                "summary": f"run {run.id}, profile {run.profile or '-'}, "
                f"release {run.release or '-'}",
                "sha256": digest,
                "supports": [],
                "attributes": [],
                "groups": [
                    {"id": c["id"], "title": c["title"], "controls": [c["id"]]} for c in controls
                ],
                "controls": controls,
                "status": "loaded",
            }
        ],
    }
