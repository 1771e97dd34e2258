"""Property-based fuzzing of one operation with Schemathesis, under a per-operation budget.

Each operation gets its boundary cases first (the documented minimum and maximum of every
integer and string parameter: where off-by-one mistakes live), then ``positive`` examples
(valid input: every response is judged by all checks), then ``negative`` ones (input the
document forbids: judged for server errors and for being rejected). Hypothesis runs
derandomized and without shrinking: the same document gives the same cases (an efficacy run
is repeatable) and a failure costs one request, not a shrinking search.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode

from harness.api.model import CHECK_CONTROLS, Problem
from harness.api.transport import GuardedSession
from harness.operations.valid_space import boundaries as edges

# Negative data is judged only for crashes and acceptance; conformance of the error answer to
# a schema written for valid input would be noise.
NEGATIVE_CHECKS = ("not_a_server_error", "negative_data_rejection")
BODY_EXCERPT = 2000
THROTTLE_RETRIES = 3
# Credentials never reach the evidence as they were sent (the redactor masks them too).
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key"})


class BudgetSpent(Exception):
    """The operation's time budget ran out; the cases sent so far stand."""


class OutOfTime(BaseException):
    """Ends one Hypothesis run at the operation's deadline.

    A BaseException, not an Exception: Hypothesis replays (and reports) a case that raised an
    Exception. A case rejected with ``reject()`` instead only counts as invalid, and the run
    went on generating and discarding cases past the deadline (several hundred, seconds of CPU
    per operation) until Hypothesis gave up: on httpbin, operations with a 1 s budget took up
    to 7 s, with 5 s up to 14 s.
    """


def boundaries(operation: Any) -> list[tuple[str, str, Any]]:
    """(location, name, value) for the documented edges of path and query parameters."""
    out: list[tuple[str, str, Any]] = []
    for param in operation.iter_parameters():
        location = str(getattr(param.location, "value", param.location))
        if location not in ("query", "path"):
            continue
        # The schema as written: the optimised one folds length limits into a pattern.
        schema = getattr(param, "unoptimized_schema", None) or {}
        if isinstance(schema, dict):
            out += [(location, param.name, value) for value in edges(schema)]
    return out


def cassette(response: Any) -> dict[str, Any]:
    """The exchange as sent and received (a Schemathesis response), for evidence; the evidence
    writer redacts credentials."""
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = (response.content or b"")[:BODY_EXCERPT].decode("utf-8", "replace")
    return {
        "request": {
            "method": request.method,
            "uri": request.url,
            "headers": _masked(dict(request.headers)),
            "body": (body or "")[:BODY_EXCERPT],
        },
        "response": {
            "status": response.status_code,
            "headers": _masked({k: ", ".join(v) for k, v in response.headers.items()}),
            "body": text,
        },
    }


def _masked(headers: dict[str, str]) -> dict[str, str]:
    return {k: "[redacted]" if k.lower() in CREDENTIAL_HEADERS else v for k, v in headers.items()}


class Judge:
    """Sends cases through one session and records every failed check as a :class:`Problem`
    (one example per kind of failure per operation)."""

    def __init__(
        self,
        session: GuardedSession,
        base_url: str,
        *,
        timeout_s: float,
        on_throttle: Callable[[Any], None],
    ) -> None:
        self.session = session
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.on_throttle = on_throttle
        self.problems: list[Problem] = []
        self.unanswered: list[str] = []
        self.answered = 0
        self.undocumented_client_errors: set[str] = set()
        self._seen: set[tuple[str, str, str]] = set()
        load_all_checks()

    @property
    def transport_kwargs(self) -> dict[str, Any]:
        # Schemathesis passes its own ``verify``: the session's CA bundle must be named here.
        return {
            "session": self.session,
            "base_url": self.base_url,
            "timeout": self.timeout_s,
            "verify": self.session.verify,
        }

    def call(self, case: Any) -> Any | None:
        """The target's answer to ``case``; None when it did not answer (or kept throttling)."""
        for _ in range(THROTTLE_RETRIES + 1):
            try:
                response = case.call(**self.transport_kwargs)
            except requests.RequestException as exc:
                self.unanswered.append(f"{_label(case)}: {type(exc).__name__}")
                return None
            if response.status_code != 429:
                self.answered += 1
                return response
            # The target's rate limit, not an answer to judge: wait as asked, send it again
            # (a dropped case could be the one boundary value that shows the bug).
            self.on_throttle(response)
        self.unanswered.append(f"{_label(case)}: still HTTP 429 after {THROTTLE_RETRIES} waits")
        return None

    def judge(self, case: Any, response: Any, names: list[str], recorder: Any = None) -> None:
        """Run each named check on its own, so every failure is owned by its check."""
        for check in CHECKS.get_by_names(names):
            name = getattr(check, "__name__", str(check))
            try:
                case.validate_response(
                    response,
                    checks=[check],
                    transport_kwargs=self.transport_kwargs,
                    recorder=recorder,
                )
            except FailureGroup as group:
                for failure in group.exceptions:
                    self._record(name, failure, case, response)
            except Failure as failure:
                self._record(name, failure, case, response)
            except Exception as exc:  # a check that could not run is no finding
                self.unanswered.append(f"{_label(case)}: check {name} could not run ({exc})"[:300])

    def _record(self, check: str, failure: Failure, case: Any, response: Any) -> None:
        label = _label(case)
        status = int(getattr(response, "status_code", 0) or 0)
        if check == "status_code_conformance" and 400 <= status < 500:
            # Frameworks rarely document their 401/403/404/422 answers; a client error is the
            # right kind of answer to a call that is refused. Undocumented successes,
            # redirects and server errors are still judged.
            self.undocumented_client_errors.add(f"{label} -> {status}")
            return
        key = (label, check, failure.title)
        if key in self._seen:
            return
        self._seen.add(key)
        try:
            curl = case.as_curl_command(verify=False, base_url=self.base_url)
        except Exception:
            curl = ""
        self.problems.append(
            Problem(
                control=CHECK_CONTROLS.get(check, "API-01"),
                check=check,
                operation=label,
                title=failure.title,
                message=str(failure.message)[:1000],
                status=status,
                user=self.session.user,
                curl=curl,
                cassette=cassette(response),
            )
        )


def _label(case: Any) -> str:
    return f"{case.operation.method.upper()} {case.operation.path}"


class OperationFuzzer(Judge):
    """Boundary, positive and negative cases of one operation, under its budget."""

    def __init__(self, operation: Any, session: GuardedSession, *args: Any, **kwargs: Any) -> None:
        super().__init__(session, *args, **kwargs)
        self.operation = operation
        self.label = f"{operation.method.upper()} {operation.path}"

    def _credentials(self) -> dict[str, Any]:
        """The session's credential for parameters the document declares (a session cookie
        or an API-key header as a parameter): pinned, or the fuzzer would replace the login
        with generated text and judge 401s instead of the operation."""
        cookies = {cookie.name: cookie.value for cookie in self.session.cookies}
        headers = {k.lower(): v for k, v in self.session.headers.items()}
        pinned: dict[str, dict[str, Any]] = {}
        for param in self.operation.iter_parameters():
            location = str(getattr(param.location, "value", param.location))
            if location == "cookie" and param.name in cookies:
                pinned.setdefault("cookies", {})[param.name] = cookies[param.name]
            elif location == "header" and param.name.lower() in headers:
                pinned.setdefault("headers", {})[param.name] = headers[param.name.lower()]
        return pinned

    def run(self, examples: int, budget_s: float, hard_deadline: float = float("inf")) -> bool:
        """Fuzz until ``examples`` positive and negative cases are sent or the budget is out;
        False when the budget stopped it. Boundary cases go on past the budget, up to
        ``hard_deadline`` (the campaign's own end)."""
        deadline = time.monotonic() + budget_s
        pinned = self._credentials()
        try:
            for location, name, value in boundaries(self.operation):
                key = "query" if location == "query" else "path_parameters"
                strategy = self.operation.as_strategy(**{key: {name: value}}, **pinned)
                # Outside the budget: a few cases where mistakes are likeliest must not be lost
                # to a slow first generation on a loaded machine.
                self._draw(strategy, 1, hard_deadline, positive=True)
            self._draw(self.operation.as_strategy(**pinned), examples, deadline, positive=True)
            try:
                negative = self.operation.as_strategy(
                    generation_mode=GenerationMode.NEGATIVE, **pinned
                )
            except Exception:  # an operation with nothing to negate
                negative = None
            if negative is not None:
                self._draw(negative, max(1, examples // 2), deadline, positive=False)
        except BudgetSpent:
            return False
        return True

    def _draw(
        self, strategy: st.SearchStrategy[Any], count: int, deadline: float, *, positive: bool
    ) -> None:
        stopped = False

        def stop() -> None:
            nonlocal stopped
            stopped = True
            raise OutOfTime

        @st.composite
        def in_time(draw: st.DrawFn) -> Any:
            # Checked before each case is generated, not only before it is sent: a schema
            # whose cases are mostly discarded while generating (a filter that rarely holds,
            # a mutation that does not apply) can otherwise spend seconds past the deadline.
            if time.monotonic() > deadline:
                stop()
            return draw(strategy)

        @settings(
            max_examples=count,
            database=None,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(in_time())
        def send(case: Any) -> None:
            if time.monotonic() > deadline:
                stop()
            self.send(case, positive=positive)

        try:
            send()
        except OutOfTime:  # the budget ran out: the cases sent so far stand
            pass
        except Unsatisfiable:  # nothing to negate, or a single possible case
            pass
        except Exception as exc:
            # Stopped while generating, Hypothesis may report its own consistency error (the
            # last case drew less than those before it): that is the stop, not a failure.
            if not stopped:  # generation impossible for this schema: nothing sent
                self.unanswered.append(f"{self.label}: cases could not be generated ({exc})"[:300])
        if time.monotonic() > deadline:
            raise BudgetSpent

    def send(self, case: Any, *, positive: bool) -> None:
        response = self.call(case)
        if response is not None:
            self.judge(case, response, list(CHECK_CONTROLS) if positive else list(NEGATIVE_CHECKS))
