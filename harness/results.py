"""results.json: the source of truth every report, the gate and the efficacy matrix read.

The models here are the schema. ``docs/results-schema.json`` is generated from them
(``python -m harness.results``) and a test keeps the two in step. Bump ``SCHEMA_VERSION``'s
minor for additive changes and its major for anything a reader must handle differently.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.findings import Finding
from harness.roadmap import RoadmapCoverage
from harness.verdicts import Verdict

SCHEMA_VERSION = "1.2"
RESULTS_NAME = "results.json"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "results-schema.json"


class ResultsError(Exception):
    """results.json is missing, unreadable or does not match the schema (one line)."""


class _Model(BaseModel):
    # Readers ignore fields they do not know, so a newer minor version stays readable.
    model_config = ConfigDict(extra="ignore")


class SigningInfo(_Model):
    algorithm: str = "ed25519"
    fingerprint: str = Field(description="SHA256:<hex> of the raw public key")
    public_key: str = Field(description="PEM public key that verifies manifest.sig")
    generated: bool = Field(
        default=False, description="a key made for this run (no one holds the private half)"
    )


class RunInfo(_Model):
    id: str = Field(description="run id: UTC timestamp and a short random suffix")
    target: str | None = Field(default=None, description="base URL or stack name")
    profile: str | None = None
    release: str | None = None
    harness_version: str
    git_sha: str | None = None
    start: str = Field(description="ISO 8601 UTC")
    end: str = Field(description="ISO 8601 UTC")
    duration_s: float
    pytest_args: list[str] = Field(default_factory=list)
    faults: list[str] = Field(default_factory=list)
    strict_catalog: bool = False
    areas: list[str] = Field(default_factory=list, description="areas this run reports")
    previous_id: str | None = Field(
        default=None, description="the run the change list compares against (reports/latest)"
    )
    signing_key: SigningInfo | None = Field(
        default=None, description="the key manifest.sig is made with (harness verify)"
    )
    safety: list[str] = Field(
        default_factory=list,
        description="the safety mode in force and what it leaves out (first line: safety = MODE)",
    )
    skipped: list[str] = Field(
        default_factory=list,
        description="'ID: reason' for every control the safety mode or scope.exclude held back",
    )


class EvidenceRef(_Model):
    kind: Literal["http", "log", "text", "json", "file", "screenshot"]
    title: str
    path: str = Field(description="relative to the run directory, '/' separated")
    sha256: str
    test: str | None = Field(default=None, description="nodeid of the test that captured it")


class TestResult(_Model):
    nodeid: str
    outcome: Verdict = Field(description="the test's own verdict (pass, fail, error, ...)")
    duration_s: float = 0.0
    message: str | None = None


class ControlResult(_Model):
    id: str
    title: str
    area: str
    status: Verdict
    severity: str
    claim: str = ""
    method: str = ""
    refs: dict[str, list[Any]] = Field(default_factory=dict)
    evidence: list[EvidenceRef] = Field(default_factory=list)
    duration_s: float = 0.0
    reason: str | None = None
    tests: list[TestResult] = Field(default_factory=list)


class Figure(_Model):
    control: str | None = None
    test: str | None = None
    name: str
    value: float
    unit: str


class GateReason(_Model):
    kind: str = Field(description="e.g. required, severity, finding, waiver_expired, not_evaluated")
    subject: str = Field(description="control id or finding id")
    message: str


class WaiverRecord(_Model):
    """A waiver of the policy as the gate found it: the auditor's summary lists them."""

    id: str = Field(description="control id or finding id")
    owner: str
    expires: str = Field(description="ISO date")
    reason: str
    state: Literal["applied", "unused", "expired"]


class GateResult(_Model):
    passed: bool
    policy: str | None = None
    evaluated_at: str
    reasons: list[GateReason] = Field(default_factory=list, description="why it failed")
    notes: list[GateReason] = Field(default_factory=list, description="waivers applied etc.")
    waived: list[str] = Field(default_factory=list, description="control/finding ids waived")
    statuses: dict[str, Verdict] = Field(
        default_factory=dict, description="control id -> status after waivers"
    )
    waivers: list[WaiverRecord] = Field(
        default_factory=list, description="every waiver of the policy, with owner and expiry"
    )


# The reader's side of efficacy.json (harness/efficacy_model.py writes it): every field has a
# default so an older matrix stays readable.
class EfficacyFault(_Model):
    name: str
    expected: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)
    caught: bool = False
    status: str = Field(default="", description="caught, missed, inconclusive or pending")
    description: str = ""
    reason: str | None = None
    duration_s: float = 0.0
    services: list[str] = Field(default_factory=list)
    statuses: dict[str, str] = Field(default_factory=dict)
    collateral: list[str] = Field(
        default_factory=list, description="other controls that failed under the fault"
    )
    collateral_measured: bool = False
    retried: list[str] = Field(default_factory=list)
    group: list[str] = Field(default_factory=list)


class EfficacyClean(_Model):
    failed: list[str] = Field(default_factory=list)
    retried: list[str] = Field(default_factory=list)
    duration_s: float = 0.0


class EfficacySummary(_Model):
    caught: int = 0
    total: int = 0
    missed: int = 0
    inconclusive: int = 0
    false_alarms: int = 0
    pending: int = 0


class Efficacy(_Model):
    profile: str | None = None
    mode: str = Field(default="mapped", description="mapped (each fault's controls) or full")
    selection: str = Field(default="all", description="all, quick or named")
    collateral_measured: bool = False
    duration_s: float = 0.0
    faults: list[EfficacyFault] = Field(default_factory=list)
    clean: EfficacyClean = Field(default_factory=EfficacyClean)
    summary: EfficacySummary = Field(default_factory=EfficacySummary)


class Results(_Model):
    schema_version: str = SCHEMA_VERSION
    run: RunInfo
    controls: list[ControlResult] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    figures: list[Figure] = Field(default_factory=list)
    gate: GateResult | None = None
    efficacy: Efficacy | None = None
    summary: dict[str, int] = Field(default_factory=dict, description="control count by status")
    roadmap: RoadmapCoverage | None = Field(
        default=None,
        description="every roadmap criterion and task with its controls' verdicts, rolled up "
        "(optional: absent in runs made before it existed)",
    )
    manifest: str | None = Field(
        default="manifest.json",
        description="file listing the SHA-256 of every run file, signed in manifest.sig",
    )

    def control(self, control_id: str) -> ControlResult | None:
        return next((c for c in self.controls if c.id == control_id), None)


def summarise(controls: list[ControlResult]) -> dict[str, int]:
    counts = {verdict.value: 0 for verdict in Verdict}
    for control in controls:
        counts[control.status.value] += 1
    counts["total"] = len(controls)
    return counts


def load_results(path: Path) -> Results:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ResultsError(f"{path}: not a results document (top level is not an object)")
    major = str(raw.get("schema_version", "")).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise ResultsError(
            f"{path}: schema_version {raw.get('schema_version')!r} is not supported "
            f"(this harness reads {SCHEMA_VERSION.split('.')[0]}.x)"
        )
    try:
        return Results.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ResultsError(f"{path}: {key}: {first['msg']}") from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so a reader never sees a half-written file (reports are read while CI runs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_results(results: Results, path: Path) -> None:
    write_json_atomic(path, results.model_dump(mode="json"))


def json_schema() -> dict[str, Any]:
    schema = Results.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://soulspot-harness.invalid/results-{SCHEMA_VERSION}.schema.json"
    schema["title"] = "Harness results"
    return schema


def main() -> None:
    """Regenerate docs/results-schema.json (``python -m harness.results [PATH]``)."""
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    write_json_atomic(target, json_schema())
    print(target)


if __name__ == "__main__":
    main()
