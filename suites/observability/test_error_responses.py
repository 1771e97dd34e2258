"""OBS-05: errors are structured and logged with context.

Client errors (unknown route, unknown API route, method not allowed, validation error, missing
authentication) and server errors (each dependency stopped in turn while the API is called)
must all answer with one JSON shape that carries the request's correlation id; every 5xx must
leave a WARNING-or-worse log record with that id and the route, and an unhandled error (500)
its exception.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import pytest

from harness import logs
from harness.loopback import source
from harness.operations import api_prefix, build_request, operations
from harness.probes import correlation, health
from harness.probes.bounded import as_response, fetch, unanswered_summary
from harness.probes.errors_shape import (
    ErrorSample,
    judge_5xx_logging,
    judge_shapes,
    parse_body,
)
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(65)
# Session-changing routes stay out of the sweep: logging out mid-test would end the session.
_SESSION_ROUTE = re.compile(r"(^|/)(login|logout|auth)(/|$)")


def _sample(label, fetched, rid, header, route=None):
    return ErrorSample(
        label=label,
        method=fetched.method,
        url=fetched.url,
        path=urlsplit(fetched.url).path,
        route=route,
        status=fetched.status,
        content_type=fetched.content_type,
        body=parse_body(fetched.body),
        request_id=rid,
        echoed_id=fetched.header(header),
    )


def _send(client, label, method, path, header, samples, responses, route=None, **kwargs):
    rid = correlation.new_id("obs05")
    headers = {**dict(kwargs.pop("headers", None) or {}), header: rid}
    fetched = fetch(client, method, path, total_s=8, headers=headers, **kwargs)
    responses.append(fetched)
    if fetched.status >= 400:
        samples.append(_sample(label, fetched, rid, header, route))
    return fetched


@pytest.mark.control("OBS-05")
def test_client_errors_share_one_shape(target, login, evidence):
    header = target.profile.target.request_id_header
    ops = operations(target.openapi)
    samples: list[ErrorSample] = []
    responses = []
    missing = f"/harness-missing-{secrets.token_hex(4)}"
    session = login(local_address=SOURCE)
    write = session.headers_for_write()
    with target.client(local_address=SOURCE) as anonymous:
        _send(anonymous, "unknown route", "GET", missing, header, samples, responses)
        _send(
            anonymous,
            "unknown API route",
            "GET",
            api_prefix(ops) + missing,
            header,
            samples,
            responses,
        )
        plain = {}
        for op in ops:
            if not op.path_params:
                plain.setdefault(op.path, set()).add(op.method)
        for path, methods in plain.items():
            if _SESSION_ROUTE.search(path):
                continue
            absent = next((m for m in ("DELETE", "PUT", "PATCH") if m not in methods), None)
            if absent:
                _send(
                    session.client,
                    "method not allowed",
                    absent,
                    path,
                    header,
                    samples,
                    responses,
                    headers=write,
                )
                break
        if target.profile.auth.me_path:
            _send(
                anonymous,
                "authentication required",
                "GET",
                target.profile.auth.me_path,
                header,
                samples,
                responses,
            )
    writer = next(
        (
            op
            for op in ops
            if op.method in ("POST", "PUT", "PATCH")
            and op.body_schema
            and not op.path_params
            and not _SESSION_ROUTE.search(op.path)
        ),
        None,
    )
    if writer is not None:
        _send(
            session.client,
            "malformed JSON body",
            writer.method,
            writer.path,
            header,
            samples,
            responses,
            route=writer.path,
            headers={**write, "Content-Type": "application/json"},
            content=b'{"a": ',
        )
        method, path, kwargs = build_request(writer, {})
        body = kwargs.get("json")
        if isinstance(body, dict) and body:
            first = next(iter(body))
            _send(
                session.client,
                "validation error (wrong type)",
                method,
                path,
                header,
                samples,
                responses,
                route=writer.path,
                headers=write,
                json={**body, first: {"nested": [1, 2, 3]}},
            )
    for fetched in responses:
        evidence.http(as_response(fetched))
    verdict = judge_shapes(samples)
    evidence.json(
        "error shape verdict",
        {
            "samples": [{"label": s.label, "status": s.status, "url": s.url} for s in samples],
            **verdict.model_dump(),
        },
    )
    also = _unanswered(responses, evidence)
    labels = {s.label for s in samples}
    assert "unknown route" in labels, f"GET {missing} did not answer with an error status{also}"
    assert not verdict.problems, "; ".join(verdict.problems) + also


def _unanswered(responses, evidence) -> str:
    """Requests the target did not answer (reset, timeout): in evidence, and the verdict's
    words for them ("" when every request was answered)."""
    dropped = unanswered_summary(responses)
    if dropped:
        evidence.text("requests the target did not answer", dropped)
    return f" ({dropped})" if dropped else ""


def _dependencies(target, stack, obs):
    stores = target.profile.datastores
    wanted = [stores.database_service, *obs.outbound_services, stores.redis_service]
    present = set(stack.services)
    return [name for name in wanted if name and (not present or name in present)]


@pytest.mark.disruptive
@pytest.mark.control("OBS-05")
def test_server_errors_are_structured_and_logged(target, stack, obs, app_log, login, evidence):
    header = target.profile.target.request_id_header
    settings = target.profile.target
    skip = {settings.live_path, settings.ready_path, settings.metrics_path, settings.openapi_path}
    ops = [
        op
        for op in operations(target.openapi)
        if op.method == "GET"
        and not op.path_params
        and op.path not in skip
        and not _SESSION_ROUTE.search(op.path)
    ]
    dependencies = _dependencies(target, stack, obs)
    if not dependencies:
        # Stopping a dependency is the one outside way to a 5xx that stays safe on any target.
        raise NotApplicable(
            "no dependency to stop: the profile names no datastores.database_service, "
            "datastores.redis_service or observability.outbound_services in this stack, so no "
            "5xx can be provoked from outside; 5xx shape and logging are not judged"
        )
    samples: list[ErrorSample] = []
    responses = []
    timeline = []
    # The first error sets the shape every 5xx must follow.
    with target.client(local_address=SOURCE) as anonymous:
        _send(
            anonymous,
            "unknown route",
            "GET",
            f"/harness-missing-{secrets.token_hex(4)}",
            header,
            samples,
            responses,
        )
        for service in dependencies:
            # One dependency down at a time, everything else as after a fresh login: restarting
            # the previous one may have invalidated sessions or provider tokens.
            session = login(local_address=SOURCE)
            stack.stop(service)
            try:
                for op in ops:
                    method, path, kwargs = build_request(op, {})
                    _send(
                        session.client,
                        f"{service} stopped",
                        method,
                        path,
                        header,
                        samples,
                        responses,
                        route=op.path,
                        **kwargs,
                    )
            finally:
                stack.start(service)
            recovered, took, _, _ = health.poll(
                lambda: health.read(anonymous, settings.ready_path),
                lambda r: r.status_code == 200,
                obs.ready_recovery_s,
            )
            timeline.append(
                {"service": service, "ready again": recovered, "after_s": round(took, 2)}
            )
    lines = app_log.lines()
    server = [s for s in samples if s.status >= 500]
    shown = set()
    for sample, fetched in zip(samples, [r for r in responses if r.status >= 400], strict=False):
        # One request/response pair per (outage, status): the rest are in the table below.
        if sample.status >= 500 and (sample.label, sample.status) not in shown:
            shown.add((sample.label, sample.status))
            evidence.http(
                as_response(fetched),
                f"{sample.label}: {sample.method} {sample.path} -> {sample.status}",
            )
    evidence.json("outages", timeline)
    evidence.json(
        "error responses",
        [
            {
                "provoked by": s.label,
                "method": s.method,
                "url": s.url,
                "status": s.status,
                "request id": s.request_id,
            }
            for s in samples
        ],
    )
    ids = [s.echoed_id or s.request_id for s in server]
    evidence.log(
        [line for line in lines if any(rid in line for rid in ids)],
        "app log records of the 5xx responses",
    )
    also = _unanswered(responses, evidence)
    if not server:
        raise NotEvaluated(
            f"no 5xx could be provoked: {len(ops)} GET operations answered below 500 while "
            f"{', '.join(t['service'] for t in timeline) or 'no dependency'} were stopped{also}"
        )
    shape = judge_shapes([samples[0], *server])
    records = logs.LogParser.from_settings(target.profile.logs).records(lines)
    logged = judge_5xx_logging(server, records)
    evidence.json(
        "5xx verdicts",
        {
            "shape": shape.model_dump(),
            "logging": [
                {
                    "request": f"{v.sample.method} {v.sample.url} -> {v.sample.status}",
                    "label": v.sample.label,
                    "records": len(v.records),
                    "problem": v.problem,
                }
                for v in logged
            ],
        },
    )
    evidence.figure("5xx responses provoked", len(server), "responses")
    problems = shape.problems + [v.problem for v in logged if v.problem]
    assert not problems, f"{len(problems)} problem(s) with {len(server)} 5xx{also}: " + "; ".join(
        problems[:6]
    )
