"""OBS-03: every line of the app's log is a structured JSON record (time, level, logger,
message), judged over the lines written while the test exercised pages, the API and errors.

A profile may describe plain-text lines (``[logs] format = "regex"``) so the other log controls
can read them; that does not make them structured: this control still fails on them, and a
target whose plain-text lines are the design declares OBS-03 not_applicable in its profile."""

from __future__ import annotations

import secrets

import pytest

from harness import logs
from harness.loopback import source
from harness.operations import operations
from harness.probes import log_injection
from harness.probes.bounded import fetch

pytestmark = pytest.mark.stack

SOURCE = source(63)


@pytest.mark.control("OBS-03")
def test_log_lines_are_structured(target, obs, app_log, login, evidence):
    settings = target.profile.target
    exercised = []
    # Anonymous requests on purpose: every request must log structured, logged in or not.
    with target.client(local_address=SOURCE) as client:
        paths = [
            *settings.pages[:4],
            *settings.static_paths[:1],
            settings.live_path,
            settings.ready_path,
            f"/harness-missing-{secrets.token_hex(4)}",
        ]
        for path in paths:
            exercised.append(fetch(client, "GET", path, total_s=5))
        # API calls, success and failure, anonymous: 401s, 404s, 405s and validation errors.
        for op in operations(target.openapi)[:12]:
            if op.method == "GET" and not op.path_params:
                exercised.append(fetch(client, "GET", op.path, total_s=5))
        exercised.append(fetch(client, "DELETE", settings.live_path, total_s=5))
    # A login writes the records an operator needs most (audit, provider calls).
    session = login(local_address=SOURCE)
    if target.profile.auth.me_path:
        exercised.append(fetch(session.client, "GET", target.profile.auth.me_path, total_s=5))

    captured = app_log.lines()
    # Lines carrying a log-injection payload (a concurrent OBS-06 probe) are OBS-06's to judge.
    lines = [line for line in captured if not log_injection.PAYLOAD_LINE.search(line)]
    fields = {name: tuple(aliases) for name, aliases in obs.log_fields.items()} or None
    check = logs.check_lines(lines, fields)
    if len(lines) != len(captured):
        evidence.text(
            "lines left to OBS-06",
            f"{len(captured) - len(lines)} line(s) carrying a "
            "log-injection payload were not judged here",
        )
    evidence.json(
        "requests sent", [{"method": r.method, "url": r.url, "status": r.status} for r in exercised]
    )
    evidence.log(logs.excerpt(lines), f"app log since the test began ({check.total} lines)")
    if check.bad:
        evidence.json(
            "lines that are not structured records",
            [verdict.model_dump() for verdict in check.bad[:50]],
        )
    evidence.figure("unstructured log lines", len(check.bad), "lines")
    assert check.total > 0, (
        f"no log lines were captured from {target.profile.logs.source} "
        f"({target.profile.logs.service}) after {len(exercised)} requests"
    )
    hint = ""
    if not logs.LogParser.from_settings(target.profile.logs).structured:
        hint = (
            "\n(the profile reads these lines with logs.format = 'regex': plain-text lines are "
            "not structured records; declare OBS-03 not_applicable if that is the design)"
        )
    assert check.ok, check.summary() + hint
