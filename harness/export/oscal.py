"""OSCAL assessment-results from results.json, built with compliance-trestle's models.

Each control becomes an observation (what was tested, how, with its evidence files and refs);
a control the harness judged (pass, fail, waived) also becomes a finding whose objective status
is satisfied or not-satisfied. A control it could not judge (error, not_evaluated,
not_applicable, planned) gets no finding: OSCAL has no state for "not checked", and a
not-satisfied finding would report a failure that did not happen. The result's remarks count
how many were judged. The NIST SP 800-53 controls of the crosswalk are the reviewed controls.

trestle is the ``audit`` extra; ``OscalUnavailable`` says so in one line when it is missing.
"""

from __future__ import annotations

import importlib
import json
import uuid
from datetime import datetime
from typing import Any

from harness.export.refs import ControlRefs, control_refs, cwe_url
from harness.results import ControlResult, Results
from harness.verdicts import Verdict

NS = "https://soulspot-harness.invalid/ns/oscal"
_UUID_NS = uuid.UUID("6f1c2d3e-8a4b-5c6d-9e0f-112233445566")
JUDGED = {Verdict.PASS, Verdict.FAIL, Verdict.WAIVED}


class OscalUnavailable(Exception):
    """compliance-trestle is not installed (the ``audit`` extra); one line."""


def _uuid(*parts: str) -> str:
    # Deterministic: the same results.json exports to the same document.
    return str(uuid.uuid5(_UUID_NS, "|".join(parts)))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def build(results: Results) -> Any:
    """The ``AssessmentResults`` model (validated by trestle as it is built)."""
    # Imported as plain modules: trestle's models take their OSCAL field names by alias, which a
    # type checker reads as missing arguments; trestle validates every field at run time.
    try:
        oscal: Any = importlib.import_module("trestle.oscal")
        common: Any = importlib.import_module("trestle.oscal.common")
        ar: Any = importlib.import_module("trestle.oscal.assessment_results")
    except ImportError:
        raise OscalUnavailable(
            "OSCAL export needs compliance-trestle: pip install 'soulspot-harness[audit]' "
            "(scripts/setup installs it)"
        ) from None

    def prop(name: str, value: str) -> Any:
        return common.Property(name=name, value=value, ns=NS)

    def ref_props(refs: ControlRefs) -> list[Any]:
        props = [prop("roadmap-section", r) for r in refs.roadmap]
        props += [prop("owasp-top10-2021", o) for o in refs.owasp]
        props += [prop("owasp-api-top10-2023", a) for a in refs.api]
        props += [prop("asvs-4.0.3", a) for a in refs.asvs]
        props += [prop("cwe", f"CWE-{c}") for c in refs.cwe]
        props += [prop("nist-sp800-53", n) for n in refs.nist]
        return props

    def ref_links(refs: ControlRefs) -> list[Any] | None:
        links = [common.Link(href=cwe_url(c), rel="reference", text=f"CWE-{c}") for c in refs.cwe]
        return links or None

    run = results.run
    start, end = _time(run.start), _time(run.end)
    gate = results.gate
    observations: list[Any] = []
    findings: list[Any] = []
    judged = 0
    nist: list[str] = []
    for control in results.controls:
        refs = control_refs(control.refs)
        nist += [n for n in refs.nist if n not in nist]
        status = gate.statuses.get(control.id, control.status) if gate else control.status
        observation = common.Observation(
            uuid=_uuid(run.id, "observation", control.id),
            title=f"{control.id} {control.title}",
            description=control.method or control.claim or control.title,
            props=[
                prop("control-id", control.id),
                prop("harness-status", status.value),
                prop("area", control.area),
                *ref_props(refs),
            ],
            links=ref_links(refs),
            methods=["TEST"],
            types=["control-objective"],
            relevant_evidence=[
                common.RelevantEvidence(
                    href=e.path,
                    description=e.title,
                    props=[prop("sha256", e.sha256)],
                )
                for e in control.evidence
            ]
            or None,
            collected=end,
            remarks=control.reason or None,
        )
        observations.append(observation)
        if status not in JUDGED:
            continue
        judged += 1
        finding = _finding(common, results, control, status, refs, observation, prop)
        finding.props = [*finding.props, *ref_props(refs)]
        findings.append(finding)
    result = ar.Result(
        uuid=_uuid(run.id, "result"),
        title=f"Harness run {run.id}",
        description=f"Controls of the harness catalog verified against {run.target or 'the target'}"
        f" (profile {run.profile or '-'}, release {run.release or '-'}).",
        start=start,
        end=end,
        props=[prop("run-id", run.id), *[prop("safety", line) for line in run.safety[:1]]],
        reviewed_controls=common.ReviewedControls(
            description="NIST SP 800-53 controls the catalog's CWEs map to (public crosswalk).",
            control_selections=[
                common.ControlSelections(
                    include_controls=[
                        common.SelectControlById(control_id=n.lower()) for n in sorted(nist)
                    ]
                    or None,
                )
            ],
        ),
        observations=observations or None,
        findings=findings or None,
        remarks=f"{judged} of {len(results.controls)} controls judged (pass, fail or waived); "
        "the others carry their status and reason in their observation.",
    )
    return ar.AssessmentResults(
        uuid=_uuid(run.id, "assessment-results"),
        metadata=common.Metadata(
            title=f"Assessment results: {run.target or run.profile or run.id}",
            last_modified=end,
            version=run.harness_version,
            oscal_version=common.OscalVersion(oscal.OSCAL_VERSION),
            props=[prop("harness-version", run.harness_version)],
        ),
        # No separate assessment plan: the plan is the harness catalog itself.
        import_ap=ar.ImportAp(
            href="#harness-catalog",
            remarks="The plan is the harness control catalog (harness controls --json).",
        ),
        results=[result],
    )


def _finding(
    common: Any,
    results: Results,
    control: ControlResult,
    status: Verdict,
    refs: ControlRefs,
    observation: Any,
    prop: Any,
) -> Any:
    satisfied = status == Verdict.PASS
    remarks = control.reason or None
    if status == Verdict.WAIVED:
        remarks = f"waived by the gate's policy: {control.reason or control.status.value}"
    return common.Finding(
        uuid=_uuid(results.run.id, "finding", control.id),
        title=f"{control.id} {control.title}",
        description=control.claim or control.title,
        props=[prop("control-id", control.id), prop("severity", control.severity)],
        target=common.FindingTarget(
            type="objective-id",
            target_id=control.id,
            title=control.title,
            props=[prop("nist-sp800-53", n) for n in refs.nist] or None,
            status=common.ObjectiveStatus(
                state="satisfied" if satisfied else "not-satisfied",
                reason="pass" if satisfied else "fail",
                remarks=remarks,
            ),
        ),
        related_observations=[common.RelatedObservation(observation_uuid=observation.uuid)],
    )


def document(results: Results) -> dict[str, Any]:
    """The OSCAL JSON document (``{"assessment-results": ...}``), parsed back by trestle."""
    model = build(results)
    text = model.oscal_serialize_json(pretty=False, wrapped=True)
    data: dict[str, Any] = json.loads(text)
    validate(data)
    return data


def validate(data: dict[str, Any]) -> None:
    """Parse ``data`` back with trestle's models; raises ValueError when it does not hold."""
    try:
        from trestle.oscal.assessment_results import AssessmentResults
    except ImportError:
        raise OscalUnavailable("compliance-trestle is not installed") from None
    body = data.get("assessment-results")
    if not isinstance(body, dict):
        raise ValueError("not an OSCAL assessment-results document")
    AssessmentResults.model_validate(body)
