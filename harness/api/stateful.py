"""The campaign's stateful phase: Schemathesis's state machine over the document's links.

Schemathesis builds the machine from the document's OpenAPI links and from the dependencies it
infers (a create answer's ``id`` feeding ``/x/{id}``). Each scenario is a short sequence of
calls that pass values along; every response is judged by all checks with the scenario's
recorder, which is what lets ``use_after_free`` and ``ensure_resource_availability`` see that
an object deleted earlier is still served, or one just created is missing.

Calls go through the same guarded session as the rest of the campaign; failures are recorded,
never raised, so Hypothesis neither shrinks nor stops at the first one, and the phase ends at
its time budget (the next call past it stops the run).
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, Phase, reject, settings
from hypothesis.errors import InvalidDefinition, Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test

from harness.api.fuzz import Judge, OutOfTime
from harness.api.model import STATEFUL_CHECKS

STEPS = 6  # calls per scenario: create, read, update, delete, read again and one spare


def run_stateful(schema: Any, judge: Judge, scenarios: int, budget_s: float) -> str:
    """Run up to ``scenarios`` scenarios within ``budget_s``; a one-line account of the phase."""
    try:
        machine = schema.as_state_machine()
    except Exception as exc:  # a document Schemathesis cannot link is no finding
        return f"stateful phase not run: {exc}"[:300]
    deadline = time.monotonic() + budget_s
    before = judge.answered
    stopped = False

    class Guarded(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            nonlocal stopped
            if time.monotonic() > deadline:
                # Raised past Hypothesis (a BaseException it neither replays nor reports): a
                # rejected scenario only counted as invalid, and Hypothesis went on generating
                # and discarding scenarios well past the budget.
                stopped = True
                raise OutOfTime
            return judge.transport_kwargs

        def call(self, case: Any, **kwargs: Any) -> Any:
            response = judge.call(case)
            if response is None:  # unanswered or throttled: this scenario ends here
                reject()
            return response

        def validate_response(self, response: Any, case: Any, *args: Any, **kwargs: Any) -> None:
            judge.judge(case, response, STATEFUL_CHECKS, getattr(self, "recorder", None))

    try:
        run_state_machine_as_test(
            Guarded,
            settings=settings(
                max_examples=scenarios,
                stateful_step_count=STEPS,
                database=None,
                deadline=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )
    except OutOfTime:  # the budget ran out: the scenarios judged so far stand
        pass
    except Unsatisfiable:  # every scenario was rejected (unanswered calls)
        pass
    except InvalidDefinition:  # no rule: nothing links one operation to another
        return "stateful phase not run: the document has no links and none could be inferred"
    except Exception as exc:  # the machine's own errors: say so, keep what was judged
        # Stopped mid-scenario, Hypothesis may report its own consistency error (the last
        # scenario drew less than the one before): that is the stop, not a failure.
        if not stopped:
            return f"stateful phase stopped: {type(exc).__name__}: {exc}"[:300]
    return f"stateful phase: {judge.answered - before} calls over the document's links"
