"""The gate: decide from results.json and a policy file whether the build passes.

Exit codes (``harness gate``): 0 pass, 1 the gate failed, 2 the harness could not decide (bad
policy, bad results, missing baseline). Every reason is printed and written into results.json's
``gate`` field, so the reports rendered afterwards show the decision and why.

Rules, in order:

1. waivers: an expired waiver fails the gate (and is not applied); a valid one turns the control's
   fail/error/not_evaluated status into ``waived`` or accepts the finding.
2. required controls must pass; ``not_evaluated`` and ``not_applicable`` fail them unless the
   policy's ``[not_evaluated] allow`` / ``[not_applicable] allow`` lists name the control;
   ``planned`` or missing from the run fails.
3. any control of a ``fail_on`` severity that failed or errored fails the gate.
4. any finding of a ``fail_on`` severity fails the gate unless a waiver or the baseline accepts it;
   with ``ratchet = true`` and a baseline, any finding outside the baseline fails, whatever its
   severity. Baseline entries the run no longer shows are listed (``baseline_gone`` notes) so
   the baseline can shrink (``harness baseline update``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.baseline import BaselineError
from harness.baseline import load_baseline as read_baseline
from harness.findings import Finding, Severity
from harness.results import (
    ControlResult,
    GateReason,
    GateResult,
    Results,
    ResultsError,
    WaiverRecord,
    load_results,
)
from harness.verdicts import Verdict

BAD = frozenset({Verdict.FAIL, Verdict.ERROR})
WAIVABLE = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.NOT_EVALUATED})


class GateError(Exception):
    """The gate cannot decide (bad policy, baseline or results); the message is one line."""


class PolicyError(GateError):
    """The policy (or its baseline) cannot be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Waiver(_Strict):
    id: str = Field(description="control id (SEC-01) or finding id (16 hex digits)")
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date


class AllowList(_Strict):
    allow: list[str] = Field(default_factory=list)


class Policy(_Strict):
    required: list[str] = Field(default_factory=list)
    fail_on: list[Severity] = Field(default_factory=lambda: [Severity.CRITICAL, Severity.HIGH])
    baseline: str | None = Field(default=None, description="file of accepted finding ids")
    ratchet: bool = Field(
        default=False,
        description="with a baseline: every finding outside it fails, whatever its severity",
    )
    not_evaluated: AllowList = Field(default_factory=AllowList)
    not_applicable: AllowList = Field(default_factory=AllowList)
    waivers: list[Waiver] = Field(default_factory=list)


def load_policy(path: Path) -> tuple[Policy, set[str]]:
    """The policy and its baseline's finding ids."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(policy)"
        raise PolicyError(f"{path}: {key}: {first['msg']}") from None
    baseline: set[str] = set()
    if policy.baseline:
        baseline = load_baseline((path.parent / policy.baseline).resolve())
    return policy, baseline


def load_baseline(path: Path) -> set[str]:
    """Finding ids the baseline accepts (formats: ``harness.baseline``)."""
    try:
        return read_baseline(path)
    except BaselineError as exc:
        raise PolicyError(str(exc)) from None


def evaluate(
    results: Results,
    policy: Policy,
    baseline: set[str] | None = None,
    *,
    policy_name: str | None = None,
    today: date | None = None,
) -> GateResult:
    today = today or datetime.now(UTC).date()
    baseline = baseline or set()
    reasons: list[GateReason] = []
    notes: list[GateReason] = []
    controls = {c.id: c for c in results.controls}
    statuses = {c.id: c.status for c in results.controls}
    findings = {f.id: f for f in results.findings}
    waived: list[str] = []
    records: list[WaiverRecord] = []

    for waiver in policy.waivers:
        who = f"owner {waiver.owner}, expires {waiver.expires.isoformat()}"
        records.append(_record(waiver, today, controls, statuses, findings))
        if waiver.expires < today:
            reasons.append(
                GateReason(
                    kind="waiver_expired",
                    subject=waiver.id,
                    message=f"waiver expired on {waiver.expires.isoformat()} ({who}): "
                    f"{waiver.reason}; renew it or fix the issue",
                )
            )
            continue
        if waiver.id in controls:
            if statuses[waiver.id] in WAIVABLE:
                notes.append(
                    GateReason(
                        kind="waived",
                        subject=waiver.id,
                        message=f"{statuses[waiver.id].value} waived ({who}): {waiver.reason}",
                    )
                )
                statuses[waiver.id] = Verdict.WAIVED
                waived.append(waiver.id)
            else:
                notes.append(
                    GateReason(
                        kind="waiver_unused",
                        subject=waiver.id,
                        message=f"waiver not needed: the control is {statuses[waiver.id].value}",
                    )
                )
        elif waiver.id in findings:
            waived.append(waiver.id)
            notes.append(
                GateReason(
                    kind="waived",
                    subject=waiver.id,
                    message=f"finding waived ({who}): {waiver.reason}",
                )
            )
        else:
            notes.append(
                GateReason(
                    kind="waiver_unused",
                    subject=waiver.id,
                    message="waiver matches no control or finding of this run",
                )
            )

    for control_id in policy.required:
        status = statuses.get(control_id)
        control = controls.get(control_id)
        label = f"required control {control_id}" + (f" ({control.title})" if control else "")
        if status is None:
            reasons.append(
                GateReason(
                    kind="required",
                    subject=control_id,
                    message=f"{label} was not reported by this run",
                )
            )
        elif status in {Verdict.PASS, Verdict.WAIVED}:
            continue
        elif status == Verdict.NOT_EVALUATED and control_id in policy.not_evaluated.allow:
            notes.append(
                GateReason(
                    kind="not_evaluated",
                    subject=control_id,
                    message=f"{label} not evaluated (allowed by policy): "
                    f"{control.reason if control else ''}",
                )
            )
        elif status == Verdict.NOT_APPLICABLE and control_id in policy.not_applicable.allow:
            notes.append(
                GateReason(
                    kind="not_applicable",
                    subject=control_id,
                    message=f"{label} not applicable (allowed by policy): "
                    f"{control.reason if control else ''}",
                )
            )
        else:
            why = control.reason if control and control.reason else "no reason recorded"
            kind = (
                status.value
                if status in {Verdict.NOT_EVALUATED, Verdict.NOT_APPLICABLE, Verdict.PLANNED}
                else "required"
            )
            reasons.append(
                GateReason(
                    kind=kind, subject=control_id, message=f"{label} is {status.value}: {why}"
                )
            )

    fail_on = {severity.value for severity in policy.fail_on}
    required = set(policy.required)
    for control in results.controls:
        status = statuses[control.id]
        if control.id in required or status not in BAD or control.severity not in fail_on:
            continue
        reasons.append(
            GateReason(
                kind="severity",
                subject=control.id,
                message=f"{control.severity} control {control.id} ({control.title}) is "
                f"{status.value}: {control.reason or 'no reason recorded'}",
            )
        )

    accepted = 0
    # The ratchet: with a baseline, any finding it does not hold is new and fails the gate.
    ratchet = policy.ratchet and policy.baseline is not None
    for finding in results.findings:
        # A synthesized finding restates a failed control, which rules 2 and 3 already judged.
        if finding.synthesized or finding.id in waived:
            continue
        if finding.severity.value not in fail_on and not ratchet:
            continue
        if finding.id in baseline:
            accepted += 1
            continue
        where = f" at {finding.method or 'GET'} {finding.url}" if finding.url else ""
        reasons.append(
            GateReason(
                kind="finding",
                subject=finding.id,
                message=f"new {finding.severity.value} finding {finding.rule}: {finding.title}"
                f"{where} (control {finding.control or '-'})",
            )
        )
    if accepted:
        notes.append(
            GateReason(
                kind="baseline",
                subject="baseline",
                message=f"{accepted} known finding(s) accepted by the baseline",
            )
        )
    # Findings the baseline accepts that this run no longer shows: the baseline can shrink.
    for gone in sorted(baseline - set(findings)):
        notes.append(
            GateReason(
                kind="baseline_gone",
                subject=gone,
                message="in the baseline but not found by this run: remove it from the baseline "
                "(harness baseline update) so it cannot come back unnoticed",
            )
        )

    return GateResult(
        passed=not reasons,
        policy=policy_name,
        evaluated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        reasons=reasons,
        notes=notes,
        waived=waived,
        statuses={cid: status for cid, status in statuses.items()},
        waivers=records,
    )


def _record(
    waiver: Waiver,
    today: date,
    controls: dict[str, ControlResult],
    statuses: dict[str, Verdict],
    findings: dict[str, Finding],
) -> WaiverRecord:
    state: Literal["applied", "unused", "expired"] = "unused"
    if waiver.expires < today:
        state = "expired"
    elif (waiver.id in controls and statuses[waiver.id] in WAIVABLE) or waiver.id in findings:
        state = "applied"
    return WaiverRecord(
        id=waiver.id,
        owner=waiver.owner,
        expires=waiver.expires.isoformat(),
        reason=waiver.reason,
        state=state,
    )


def default_policy(results: Results) -> Policy:
    """No policy file: every applicable control must pass, findings of any severity but info
    fail. Planned and not-applicable controls are not required."""
    skip = {Verdict.PLANNED, Verdict.NOT_APPLICABLE}
    return Policy(
        required=[c.id for c in results.controls if c.status not in skip],
        fail_on=[s for s in Severity if s != Severity.INFO],
    )


def decide(results: Results, policy_path: Path | None) -> GateResult:
    """The gate's decision for ``results`` under the policy file (or the default policy).

    Raises GateError (PolicyError) when the policy or its baseline cannot be used.
    """
    baseline: set[str] = set()
    if policy_path is None:
        policy, name = default_policy(results), "(default: every applicable control passes)"
    else:
        policy, baseline = load_policy(policy_path)
        name = str(policy_path)
    return evaluate(results, policy, baseline, policy_name=name)


def describe(decision: GateResult) -> list[str]:
    """Every reason and note, then the verdict line, as printed by the CLI and the plugin."""
    lines = [f"FAIL {r.subject}: [{r.kind}] {r.message}" for r in decision.reasons]
    lines += [f"note {n.subject}: [{n.kind}] {n.message}" for n in decision.notes]
    verdict = "passed" if decision.passed else f"failed ({len(decision.reasons)} reason(s))"
    lines.append(f"gate {verdict}")
    return lines


def run_gate(
    results_path: Path,
    policy_path: Path | None,
    *,
    echo: Callable[[str], None] = print,
    write: bool = True,
    signing_key: str | None = None,
) -> GateResult:
    """Evaluate, print every reason, and (``write``) record the decision in results.json.

    Recording goes through the pipeline, which re-renders the reports and re-seals the run
    folder, so the reports show the decision and the seal stays true. Raises GateError when it
    cannot decide; the caller maps that to exit code 2.
    """
    try:
        results = load_results(results_path)
    except ResultsError as exc:
        raise GateError(str(exc)) from None
    decision = decide(results, policy_path)
    for line in describe(decision):
        echo(line)
    if write:
        from harness.pipeline import PipelineError, republish

        def record(current: Results) -> None:
            current.gate = decision

        try:
            republish(results_path.parent, update=record, signing_key_source=signing_key)
        except PipelineError as exc:
            raise GateError(str(exc)) from None
    return decision
