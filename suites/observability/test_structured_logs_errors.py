"""OBS-03 on the error paths: every line the app writes while it fails is a structured record.

Healthy traffic never reaches a traceback printed by an error handler, an error-only logger
or a second output stream. Inside the window judged here a dependency is stopped while the API
is called (5xx), so those lines are written where every line must parse."""

from __future__ import annotations

import pytest

from harness import logs
from harness.loopback import source
from harness.operations import build_request
from harness.probes import log_injection, outage
from harness.probes.bounded import fetch
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(130)
# A few operations are enough to reach the error handlers; the sweep is OBS-05's.
MAX_OPERATIONS = 6


@pytest.mark.disruptive
@pytest.mark.control("OBS-03")
def test_log_lines_stay_structured_on_errors(target, stack, obs, app_log, login, evidence):
    settings = target.profile.target
    services = outage.stoppable(
        stack,
        target.profile,
        obs.outbound_services,
        "error paths cannot be provoked from outside",
    )
    ops = outage.plain_gets(target.profile, target.openapi, MAX_OPERATIONS)
    session = login(local_address=SOURCE)
    statuses: list[tuple[str, int]] = []
    # Anonymous on purpose: readiness is read by probes that hold no credential.
    with target.client(local_address=SOURCE) as anonymous:
        wait_ready = outage.ready_again(anonymous, settings.ready_path, obs.ready_recovery_s)
        with outage.outage(stack, services[0], wait_ready) as down:
            for op in ops:
                method, path, kwargs = build_request(op, {})
                response = fetch(session.client, method, path, total_s=8, **kwargs)
                statuses.append((f"{method} {path}", response.status))
            statuses.append(
                (
                    f"GET {settings.ready_path}",
                    fetch(anonymous, "GET", settings.ready_path, total_s=8).status,
                )
            )
    session.close()
    captured = app_log.lines()
    lines = [line for line in captured if not log_injection.PAYLOAD_LINE.search(line)]
    fields = {name: tuple(aliases) for name, aliases in obs.log_fields.items()} or None
    check = logs.check_lines(lines, fields)
    errors = [s for s in statuses if s[1] >= 500]
    evidence.json(
        f"requests while {down.service} was stopped",
        {"statuses": statuses, "ready again": down.recovered, "after_s": round(down.recovery_s, 2)},
    )
    evidence.log(logs.excerpt(lines), f"app log of the outage window ({check.total} lines)")
    if check.bad:
        evidence.json(
            "lines that are not structured records",
            [verdict.model_dump() for verdict in check.bad[:50]],
        )
    evidence.figure("unstructured log lines on error paths", len(check.bad), "lines")
    assert check.ok, check.summary() + f" (while {down.service} was stopped: {len(errors)} 5xx)"
    if not errors:
        raise NotEvaluated(
            f"no 5xx while {down.service} was stopped ({len(statuses)} requests): the error "
            f"paths were not reached; the {check.total} lines written were structured"
        )
