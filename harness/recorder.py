"""The recorder: what the pytest hooks learn about each control test, folded per test.

The hooks feed it test reports (one per phase, on the controller under xdist); evidence,
findings and figures arrive as references in the reports' ``user_properties``. It knows nothing
about files, reports or the gate: ``harness.pipeline`` turns its records into a run.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.evidence import PROP_CONTROLS, PROP_EVIDENCE, PROP_FIGURE, PROP_FINDING, PROP_VERDICT
from harness.outcomes import TestRecord, phase_verdict
from harness.redact import Redactor
from harness.verdicts import Verdict


class Recorder:
    """Test records of one run, by node id, in the order the tests reported."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._records: dict[str, TestRecord] = {}

    @property
    def records(self) -> list[TestRecord]:
        return list(self._records.values())

    def __bool__(self) -> bool:
        return bool(self._records)

    def verdict_property(
        self, report: pytest.TestReport, call: pytest.CallInfo[None]
    ) -> tuple[str, dict[str, Any]] | None:
        """The phase's verdict as a report property (it travels from an xdist worker)."""
        verdict = phase_verdict(report, call)
        if verdict is None:
            return None
        status, reason = verdict
        redacted = self.redactor.text(reason) if reason else None
        return PROP_VERDICT, {"when": report.when, "status": status.value, "reason": redacted}

    def fold(self, report: pytest.TestReport) -> None:
        """One phase report of a test (any test: those without controls are ignored)."""
        props: list[tuple[str, Any]] = [(str(k), v) for k, v in report.user_properties]
        controls = next((value for key, value in props if key == PROP_CONTROLS), None)
        if not controls:
            return
        record = self._records.get(report.nodeid)
        if record is None:
            record = self._records[report.nodeid] = TestRecord(report.nodeid, list(controls))
        record.duration_s += report.duration
        for key, value in props:
            if key == PROP_VERDICT and value.get("when") == report.when:
                record.phases.append((Verdict(value["status"]), value.get("reason")))
        # user_properties accumulate over the phases, so the latest report has them all.
        record.evidence = [dict(v) for k, v in props if k == PROP_EVIDENCE]
        record.findings = [dict(v) for k, v in props if k == PROP_FINDING]
        record.figures = [dict(v) for k, v in props if k == PROP_FIGURE]
