"""Probes against a target that streams forever on one route and resets the socket on another.

A stream is read with a cap (not at all: headers only) and never judged as a whole body; a
reset is an observation (status 0 with what happened), never an exception and never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from flaky_target import flaky_target  # tests/ is on sys.path (rootdir-less test dir)
from openapi_docs import json_body

from harness.probes import correlation
from harness.probes import gzip as gz
from harness.probes.bounded import Fetched, failure_kind, fetch, unanswered_summary
from harness.probes.errors import disclosures
from harness.probes.headers import check_security_headers
from harness.probes.surface import Surface, provoke_5xx


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with flaky_target() as url:
        yield url


@pytest.fixture
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as c:
        yield c


def test_the_stream_costs_no_time_and_no_claim(client: httpx.Client, base: str) -> None:
    started = time.monotonic()
    fetched = fetch(client, "GET", "/events", total_s=10)
    assert fetched.status == 200 and fetched.streaming and fetched.truncated
    assert fetched.body == ""
    # The header check needs headers only; the body rules find nothing in no body.
    assert check_security_headers(fetched, https=False)
    assert [d for d in disclosures(fetched) if d.where == "body"] == []
    gzipped = gz.check(client, base + "/events", min_bytes=100)
    assert gzipped.skipped and "text/event-stream" in gzipped.skipped
    assert not gzipped.applies and not gzipped.problems and gzipped.error is None
    assert correlation.fetch_recorded(client, base + "/events") == []
    elapsed = time.monotonic() - started
    print(f"fetch, headers, disclosures, gzip and recorder read of the stream: {elapsed:.2f} s")
    # A probe that waited on the events would sit out a 10 s read timeout (four of them here);
    # the bound is below one, so a loaded machine does not matter.
    assert elapsed < 9.0, "a probe waited on the stream's events"


def test_gzip_still_judges_a_page(client: httpx.Client, base: str) -> None:
    page = gz.check(client, base + "/page", min_bytes=100)
    assert page.applies and page.ok and page.skipped is None  # the positive control


def test_a_reset_is_an_observation_that_says_what_happened(client: httpx.Client, base: str) -> None:
    boom = fetch(client, "GET", "/boom", total_s=5)
    assert boom.status == 0 and not boom.answered and boom.error
    assert failure_kind(boom.error) == "reset by the target"
    summary = unanswered_summary([boom, fetch(client, "GET", "/page", total_s=5)])
    assert summary == f"1 request reset by the target (GET {base}/boom)"
    assert unanswered_summary([fetch(client, "GET", "/page")]) == ""
    gzipped = gz.check(client, base + "/boom", min_bytes=100)
    assert gzipped.failure == "reset by the target" and not gzipped.applies
    assert correlation.fetch_recorded(client, base + "/boom") == []
    # The next request works: one reset does not end the walk.
    assert fetch(client, "GET", "/page").status == 200


def test_surface_and_5xx_provoker_keep_resets_apart(client: httpx.Client) -> None:
    surface = Surface()
    surface.add("404", fetch(client, "GET", "/missing", total_s=5))
    surface.add("page", fetch(client, "GET", "/boom", total_s=5))
    assert [s.cls for s in surface.samples] == ["404"] and len(surface.unanswered) == 1
    document = {
        "paths": {"/items": {"post": {"requestBody": json_body({"name": {"type": "string"}})}}}
    }
    unanswered: list = []
    found = provoke_5xx(
        lambda method, path, **kwargs: fetch(client, "GET", "/boom", total_s=5),
        document,
        {},
        budget=2,
        unanswered=unanswered,
    )
    assert found == [] and len(unanswered) == 2
    assert unanswered_summary(unanswered).startswith("2 requests reset by the target")


def test_echo_reads_a_fetched_answer(client: httpx.Client) -> None:
    fetched = fetch(client, "GET", "/page", headers={"X-Request-ID": "hx-1"})
    assert correlation.echo(fetched, "X-Request-ID", "hx-1").echoed


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("ReadTimeout: timed out", "timed out"),
        ("ConnectError: [Errno 111] Connection refused", "refused the connection"),
        (
            "RemoteProtocolError: Server disconnected without sending a response.",
            "reset by the target",
        ),
        ("ReadError: [Errno 104] Connection reset by peer", "reset by the target"),
        ("RemoteProtocolError: illegal status line", "answered with a malformed response"),
    ],
)
def test_failure_kinds(error: str, kind: str) -> None:
    assert failure_kind(error) == kind


def test_a_reset_is_never_read_as_a_boolean_injection() -> None:
    from harness.operations import Operation, Param, Point
    from harness.probes.injection import STRING_PAIRS, SqliProbe

    op = Operation(
        method="GET",
        path="/api/tracks",
        params=[Param(name="q", location="query", schema={"type": "string"})],
    )
    point = Point(op=op, location="query", name="q", schema={"type": "string"})
    true_tails = tuple(true for true, _ in STRING_PAIRS)

    def send(method: str, path: str, **kwargs: object) -> Fetched:
        q = str(kwargs["params"]["q"])  # type: ignore[index]
        if q.endswith(true_tails):  # a filter that drops the connection on these values
            return Fetched(method=method, url=path, status=0, headers={}, error="ReadError: reset")
        return Fetched(method=method, url=path, status=200, headers={}, body="[]")

    assert SqliProbe(send, {}).run(point).finding is None


def test_validation_names_a_reset_and_only_records_a_timeout() -> None:
    from harness.operations import operations
    from harness.probes.validation import run

    document = {
        "paths": {
            "/items": {
                "post": {"requestBody": json_body({"name": {"type": "string", "maxLength": 8}})}
            }
        }
    }

    def answer(error: str) -> Callable[..., Fetched]:
        def send(method: str, path: str, **kwargs: object) -> Fetched:
            return Fetched(method=method, url=path, status=0, headers={}, error=error)

        return send

    reset = run(answer("ReadError: [Errno 104] Connection reset by peer"), operations(document), {})
    assert reset.problems
    assert all(p.problem and "reset by the target" in p.problem for p in reset.problems)
    timeout = run(answer("ReadTimeout: timed out"), operations(document), {})
    assert timeout.outcomes and not timeout.problems
    assert all("timed out" in o.excerpt for o in timeout.outcomes)
