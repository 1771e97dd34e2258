"""One fuzzing campaign over the target's OpenAPI document, shared by the API controls.

The campaign is run once per test session (API-01, API-02 and the checks of API-06/API-09
read the same responses), over the operations the safety mode lets through, as the profile's
users: each operation is fuzzed as one of them in turn, so an operation some users may not
call is also exercised as a user who may not. The login, logout and token routes of the
profile are not fuzzed: logging out or being locked out would end the campaign's own
sessions, and AUTH-09 owns the login route's behaviour under attack.

Budgets (the profile's ``[api]`` section): every operation gets ``examples`` positive cases
(half as many negative) within the smaller of ``per_operation_s`` and an even share of what is
left of ``total_s``: a 150-operation API is covered thinly within ``total_s`` rather than cut
off after the first operations.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from schemathesis import openapi as schemathesis_openapi
from schemathesis.core.result import Err

from harness.api.fuzz import Judge, OperationFuzzer
from harness.api.model import Campaign
from harness.api.stateful import run_stateful
from harness.api.transport import GuardedSession
from harness.probes.coverage import HTTP_METHODS, safe_surface
from harness.profile.api_section import ApiSettings
from harness.target import Target

# The stateful phase's time: this many per-operation budgets (within what is left of the total).
STATEFUL_SHARE = 4


def _unfuzzed_paths(target: Target) -> set[str]:
    auth = target.profile.auth
    return {p for p in (auth.login_path, auth.api_login_path, auth.logout_path) if p}


def run_campaign(
    target: Target,
    document: dict[str, Any],
    sessions: Sequence[GuardedSession],
    budget: ApiSettings | None = None,
) -> Campaign:
    """Fuzz every operation of ``document`` the safety mode allows, with ``sessions`` in turn."""
    budget = budget or target.profile.api
    campaign = Campaign()
    started = time.monotonic()
    surface = safe_surface(target.safety, document)
    campaign.operations_total = surface.total
    for name, reason in surface.held.items():
        campaign.skipped[name] = reason
    kept = surface.document
    if "openapi" not in kept and "swagger" not in kept:
        kept = {"openapi": "3.0.3", **kept}
    skip_paths = _unfuzzed_paths(target)
    # Not in the document Schemathesis sees at all: the stateful phase must not log out either.
    paths = kept.get("paths") or {}
    for path in skip_paths & set(paths):
        for method in paths[path]:
            if method.lower() in HTTP_METHODS:
                campaign.skipped[f"{method.upper()} {path}"] = (
                    "the profile's login/logout route (ends the sessions)"
                )
    kept = {**kept, "paths": {p: item for p, item in paths.items() if p not in skip_paths}}
    try:
        schema = schemathesis_openapi.from_dict(kept)
        results = list(schema.get_all_operations())
    except Exception as exc:  # the loader's own errors: the document is unusable as a whole
        campaign.skipped["the document"] = f"Schemathesis could not load it: {exc}"[:300]
        return campaign
    throttled: list[float] = []

    def on_throttle(response: Any) -> None:
        # A 429 is the target's rate limit, not an answer to judge: wait as asked, go on.
        retry = response.headers.get("retry-after", ["1"])[0]
        try:
            wait = min(float(retry), 10.0)
        except ValueError:
            wait = 1.0
        throttled.append(wait)
        time.sleep(wait)

    for index, result in enumerate(results):
        if isinstance(result, Err):
            error = result.err()
            key = f"{str(getattr(error, 'method', '?')).upper()} {getattr(error, 'path', '?')}"
            campaign.skipped[key] = f"the loader rejected it: {error}"[:300]
            continue
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        remaining = budget.total_s - (time.monotonic() - started)
        if remaining <= 0:
            campaign.skipped[label] = "the campaign's total budget ran out"
            continue
        # An even share of what is left, so the last operations are not starved.
        share = min(budget.per_operation_s, remaining / (len(results) - index))
        session = sessions[index % len(sessions)]
        before = session.sent
        fuzzer = OperationFuzzer(
            operation,
            session,
            target.base_url,
            # A slow operation (a deliberate delay endpoint) must not spend the campaign: one
            # request waits at most the operation's share; a timeout is recorded, not judged.
            timeout_s=min(budget.request_timeout_s, max(share, 1.0)),
            on_throttle=on_throttle,
        )
        finished = fuzzer.run(budget.examples, share, started + budget.total_s)
        if not finished:
            campaign.budget_exhausted.append(label)
        campaign.operations_checked.append(label)
        campaign.problems.extend(fuzzer.problems)
        campaign.unanswered.extend(fuzzer.unanswered)
        campaign.requests += session.sent - before
        campaign.answered += fuzzer.answered
    remaining = budget.total_s - (time.monotonic() - started)
    if remaining > 0 and campaign.operations_checked:
        judge = Judge(
            sessions[0],
            target.base_url,
            timeout_s=budget.request_timeout_s,
            on_throttle=on_throttle,
        )
        before = sessions[0].sent
        phase_budget = min(remaining, budget.per_operation_s * STATEFUL_SHARE)
        campaign.stateful = run_stateful(schema, judge, budget.examples, phase_budget)
        campaign.problems.extend(judge.problems)
        campaign.unanswered.extend(judge.unanswered)
        campaign.requests += sessions[0].sent - before
        campaign.answered += judge.answered
    campaign.throttled = len(throttled)
    campaign.relogins = sum(session.relogins for session in sessions)
    campaign.seconds = time.monotonic() - started
    return campaign
