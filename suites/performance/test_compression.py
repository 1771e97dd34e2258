"""PERF-01: compressible responses above the minimum size are gzip-compressed on request.

Candidates are the profile's pages (as a logged-in user, so they render fully), its static
files, the OpenAPI document and the API's parameterless GET operations. Each is fetched plain
and with ``Accept-Encoding: gzip``; text, JSON, JavaScript and CSS bodies of at least
``observability.gzip_min_bytes`` must come back gzip-encoded with ``Vary: Accept-Encoding``.
Smaller or binary responses may stay plain.
"""

from __future__ import annotations

import time

import httpx
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
            title = f"GET {sample.url} with Accept-Encoding: gzip"
            # A judged response is no stream (gz.check skips those); a reset now is noted.
            try:
                evidence.http(client.get(sample.url, headers={"Accept-Encoding": "gzip"}), title)
            except httpx.HTTPError as exc:
                evidence.text(title, f"no answer this time: {type(exc).__name__}: {exc}")
    finally:
        (session.close() if session else client.close())
    evidence.json("responses checked", [r.model_dump() for r in results])
    evidence.figure("compressible responses checked", len(judged), "responses")
    # Streams and unanswered requests are observations: said here and in the verdict.
    observed = _observations(results)
    if observed:
        evidence.text("responses not judged", observed)
    also = f" ({observed})" if observed else ""
    if not judged:
        raise NotEvaluated(
            f"none of {len(results)} responses is a compressible 200 of {minimum} bytes or "
            f"more: nothing to judge{also}"
        )
    failed = [problem for r in judged for problem in r.problems]
    assert not failed, f"{len(failed)} of {len(judged)} large responses{also}: " + "; ".join(
        failed[:5]
    )


def _observations(results: list[gz.GzipCheck]) -> str:
    """What was not judged, for the verdict: "1 request reset by the target (GET /x)"."""
    by_kind: dict[str, list[str]] = {}
    for result in results:
        if result.failure:
            by_kind.setdefault(f"{result.failure}", []).append(result.url)
        elif result.skipped:
            by_kind.setdefault("streaming, not judged", []).append(result.url)
    return "; ".join(
        f"{len(urls)} {'request' if len(urls) == 1 else 'requests'} {kind} "
        f"(GET {', GET '.join(urls[:2])}{' and more' if len(urls) > 2 else ''})"
        for kind, urls in by_kind.items()
    )
