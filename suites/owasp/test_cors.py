"""SEC-02: CORS grants listed origins only."""

from __future__ import annotations

import pytest

from harness.operations import operations
from harness.probes.bounded import as_response
from harness.probes.cors import hostile_origins, judge_listed, judge_unlisted, observe

pytestmark = pytest.mark.stack


def _urls(target) -> list[tuple[str, str]]:
    """(url, method for the preflight): a credentialed read, a write, and a page."""
    profile = target.profile
    ops = operations(target.openapi)
    urls = []
    if profile.auth.me_path:
        urls.append((profile.auth.me_path, "GET"))
    writer = next(
        (
            o
            for o in ops
            if o.method in ("POST", "PUT", "PATCH") and not o.path_params and "login" not in o.path
        ),
        None,
    )
    if writer is not None:
        urls.append((writer.path, writer.method))
    if profile.target.pages:
        urls.append((profile.target.pages[0], "POST"))
    return urls


@pytest.mark.control("SEC-02")
def test_cors_allows_listed_origins_only(target, login, evidence):
    allowed = target.profile.target.cors_allowed_origins
    session = login()
    issues = []
    observations = []
    shown = 0
    for path, method in _urls(target):
        for origin in hostile_origins(allowed):
            for preflight in (True, False):
                obs = observe(session.client, path, origin, preflight=preflight, method=method)
                observations.append(obs)
                found = judge_unlisted(obs)
                issues.extend(found)
                if found and shown < 8:
                    shown += 1
                    evidence.http(
                        as_response(obs.response), title=f"{obs.kind} from {origin} granted"
                    )
    # Positive control: without it, a server that never sends CORS headers (or a probe that
    # never reaches the server) would look compliant for the wrong reason.
    control_problems = []
    if allowed:
        for path, method in _urls(target)[:2]:
            for preflight in (True, False):
                obs = observe(session.client, path, allowed[0], preflight=preflight, method=method)
                observations.append(obs)
                problem = judge_listed(obs)
                if problem:
                    control_problems.append(problem)
                evidence.http(
                    as_response(obs.response),
                    title=f"positive control: {obs.kind} from listed {allowed[0]}",
                )
    else:
        evidence.text(
            "positive control",
            "the profile lists no allowed origin "
            "(target.cors_allowed_origins): only denials were checked",
        )
    evidence.json(
        "observations",
        [
            {
                "origin": o.origin,
                "kind": o.kind,
                "url": o.url,
                "status": o.status,
                "allow_origin": o.allow_origin,
                "allow_credentials": o.allow_credentials,
            }
            for o in observations
        ],
    )
    if not issues and observations:
        evidence.http(as_response(observations[0].response), title="a denied request")
    assert not issues, "CORS grants to unlisted origins:\n" + "\n".join(
        i.describe() for i in issues[:30]
    )
    assert not control_problems, (
        "positive control failed (the listed origin is not granted, so denials prove "
        "nothing):\n" + "\n".join(control_problems)
    )
