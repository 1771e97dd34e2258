"""Verdicts a test can reach other than pass and fail.

Both subclass pytest's skip exception so a plain ``pytest`` run shows them as skips with the
reason, while the harness plugin records them as their own verdicts: never as a pass.
"""

from __future__ import annotations

from enum import StrEnum

import pytest

_Skip: type[BaseException] = pytest.skip.Exception


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_EVALUATED = "not_evaluated"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"
    PLANNED = "planned"


class NotApplicable(_Skip):  # type: ignore[misc,valid-type]
    """The control does not apply to this target (the profile lacks what it needs)."""

    verdict = Verdict.NOT_APPLICABLE

    def __init__(self, reason: str) -> None:
        super().__init__(msg=f"not_applicable: {reason}", allow_module_level=True)
        self.reason = reason


class NotEvaluated(_Skip):  # type: ignore[misc,valid-type]
    """A tool the control needs could not run; the reason is recorded, never shown as pass."""

    verdict = Verdict.NOT_EVALUATED

    def __init__(self, reason: str) -> None:
        super().__init__(msg=f"not_evaluated: {reason}", allow_module_level=True)
        self.reason = reason
