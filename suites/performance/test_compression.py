"""PERF-01: compressible responses above the minimum size are gzip-compressed on request.

Candidates are the profile's pages (as a logged-in user, so they render fully), its static
files, the OpenAPI document and the API's parameterless GET operations. Each is fetched plain
and with ``Accept-Encoding: gzip``; text, JSON, JavaScript and CSS bodies of at least
``observability.gzip_min_bytes`` must come back gzip-encoded with ``Vary: Accept-Encoding``.
Smaller or binary responses may stay plain.
"""

from __future__ import annotations

import time

import pytest

from harness.auth import AuthError
from harness.auth import login as auth_login
from harness.loopback import source
from harness.operations import operations
from harness.probes import gzip as gz
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(68)


def _candidates(target) -> list[str]:
    settings = target.profile.target
    document = [settings.openapi_path] if settings.openapi_path else []
    paths = [*settings.pages, *settings.static_paths, *document]
    for op in operations(target.openapi):
        health = (settings.live_path, settings.ready_path, settings.metrics_path)
        if (
            op.method == "GET"
            and not op.path_params
            and not op.query_params
            and op.path not in health
        ):
            paths.append(op.path)
    return list(dict.fromkeys(paths))


@pytest.mark.control("PERF-01")
def test_large_responses_are_gzipped(target, evidence):
    minimum = target.profile.observability.gzip_min_bytes
    session = None
    for attempt in range(2):  # one retry: a first-login race on the target is not PERF-01's
        try:
            session = auth_login(target, local_address=SOURCE)
            break
        except AuthError as exc:
            if attempt:
                evidence.text("login failed; checking anonymous responses only", str(exc))
            time.sleep(0.5)
    client = session.client if session else target.client(local_address=SOURCE)
    try:
        results = [gz.check(client, target.url(path), minimum) for path in _candidates(target)]
        judged = [r for r in results if r.applies]
        if judged:
            sample = next((r for r in judged if r.problems), judged[0])
            evidence.http(
                client.get(sample.url, headers={"Accept-Encoding": "gzip"}),
                f"GET {sample.url} with Accept-Encoding: gzip",
            )
    finally:
        (session.close() if session else client.close())
    evidence.json("responses checked", [r.model_dump() for r in results])
    evidence.figure("compressible responses checked", len(judged), "responses")
    errors = [r for r in results if r.error]
    if not judged:
        raise NotEvaluated(
            f"none of {len(results)} responses is a compressible 200 of {minimum} bytes or "
            f"more (errors: {len(errors)}): nothing to judge"
        )
    failed = [problem for r in judged for problem in r.problems]
    assert not failed, f"{len(failed)} of {len(judged)} large responses: " + "; ".join(failed[:5])
