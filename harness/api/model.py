"""What a fuzzing campaign found: failures with their reproduction, and what it covered."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

# Schemathesis check -> the control that owns its failures. A check not named here is not run.
# ``ignored_auth`` is not: its probes are sent with a session of Schemathesis's own (it drops the
# one it is given so no credential leaks in), which would bypass the egress guard; API-06 sends
# the same probes (no token, a forged token) through the guard instead.
CHECK_CONTROLS: dict[str, str] = {
    "not_a_server_error": "API-01",
    "status_code_conformance": "API-02",
    "content_type_conformance": "API-02",
    "response_schema_conformance": "API-02",
    "response_headers_conformance": "API-02",
    "negative_data_rejection": "API-02",
    "use_after_free": "API-09",
    "ensure_resource_availability": "API-09",
}


# The stateful phase's checks: its cases are not judged for negative-data rejection (a
# scenario's later steps are not meant as invalid input).
STATEFUL_CHECKS = [name for name in CHECK_CONTROLS if name != "negative_data_rejection"]


class Problem(BaseModel):
    """One failed check on one request, with what reproduces it."""

    control: str
    check: str
    operation: str
    title: str
    message: str
    status: int = 0
    user: str | None = None
    curl: str = ""
    # The request and response as sent and received (a VCR-like cassette, redacted later).
    cassette: dict[str, Any] = Field(default_factory=dict)


class Campaign(BaseModel):
    """One fuzzing run over a document's operations."""

    operations_total: int = 0
    operations_checked: list[str] = Field(default_factory=list)
    # "METHOD path" -> why it was not fuzzed (safety mode, loader error, logout).
    skipped: dict[str, str] = Field(default_factory=dict)
    requests: int = 0
    # Cases the target answered (a reset or timeout is sent but not answered).
    answered: int = 0
    seconds: float = 0.0
    throttled: int = 0
    # Logins renewed during the campaign (sessions that idled out or expired under it).
    relogins: int = 0
    unanswered: list[str] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    budget_exhausted: list[str] = Field(default_factory=list)
    # What the stateful phase (links and inferred dependencies) did, in one line.
    stateful: str = "stateful phase not run"

    def for_control(self, control: str) -> list[Problem]:
        return [p for p in self.problems if p.control == control]

    def coverage(self) -> str:
        """ "checked 24 of 26 operations, 812 requests in 41 s" plus what was skipped."""
        text = (
            f"checked {len(self.operations_checked)} of {self.operations_total} operations, "
            f"{self.requests} requests in {self.seconds:.0f} s"
        )
        if self.answered < self.requests:
            text += f", {self.requests - self.answered} not answered or re-sent by checks"
        if self.skipped:
            names = ", ".join(sorted(self.skipped)[:5])
            more = "" if len(self.skipped) <= 5 else f" and {len(self.skipped) - 5} more"
            text += f"; not fuzzed: {names}{more}"
        text += f"; {self.stateful}"
        if self.relogins:
            text += f"; {self.relogins} expired sessions renewed"
        if self.throttled:
            text += f"; throttled {self.throttled} times (HTTP 429, waited and sent again)"
        if self.budget_exhausted:
            text += f"; {len(self.budget_exhausted)} stopped at their time budget"
        return text
