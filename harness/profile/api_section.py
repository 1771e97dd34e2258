"""The API suite's budgets (``[profiles.X.api]``): how long the fuzzing may take."""

from __future__ import annotations

from pydantic import Field

from harness.profile.base import Strict


class ApiSettings(Strict):
    """Budgets of the Schemathesis fuzzing campaign (API-01, API-02, API-06, API-09).

    Each operation gets ``examples`` positive cases (half as many negative ones) within at most
    ``per_operation_s``; when ``total_s`` divided over the operations left is less, that share
    is the budget, so a large API is covered thinly rather than cut off.
    """

    examples: int = Field(default=50, ge=1, description="positive cases per operation")
    per_operation_s: float = Field(
        default=5.0, gt=0, description="time budget of one operation, seconds"
    )
    total_s: float = Field(
        default=300.0, gt=0, description="time budget of the whole campaign, seconds"
    )
    request_timeout_s: float = Field(
        default=10.0, gt=0, description="one request's timeout (a timeout is not a pass)"
    )
