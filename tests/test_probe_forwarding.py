"""Client-chosen forwarding headers against a limiter and a lockout (SEC-03, AUTH-09).

The small targets key their decision either on the address they can vouch for or on one
header as the client sent it; the probes must pass the first and name the header of the second.
"""

from __future__ import annotations

import httpx
import pytest
from fake_auth_target import fake_target

from harness.probes.bruteforce import guess
from harness.probes.forwarding import FORWARDING_HEADERS, spoofed_header
from harness.probes.ratelimit import burst, request_factory

LIMIT = 5
WINDOW_S = 0.4


def _limited_client(key_header: str | None, roll_at: int | None = None) -> httpx.Client:
    """A fixed-window limiter (LIMIT per window) keyed on the peer, or on ``key_header``.

    Its window is counted in requests, not read from a clock: on a busy machine a wall-clock
    window of WINDOW_S rolled over in the middle of a burst. ``roll_at`` starts a new window
    at that request, so the roll-over path is tested on purpose rather than by chance."""
    counts: dict[tuple[str, int], int] = {}
    seen = [0]

    def handle(request: httpx.Request) -> httpx.Response:
        seen[0] += 1
        window = 1 if roll_at is not None and seen[0] >= roll_at else 0
        key = "the peer"
        if key_header and request.headers.get(key_header):
            key = request.headers[key_header].split(",")[0].strip()
        counts[(key, window)] = counts.get((key, window), 0) + 1
        if counts[(key, window)] > LIMIT:
            return httpx.Response(429, headers={"retry-after": "1"})
        return httpx.Response(200, json={"ok": True})

    return httpx.Client(base_url="http://limited.test", transport=httpx.MockTransport(handle))


def _burst(key_header: str | None, roll_at: int | None = None):
    with _limited_client(key_header, roll_at) as client:
        return burst(
            request_factory(client, "GET", "/api/x"),
            url="/api/x",
            method="GET",
            limit=LIMIT,
            margin=LIMIT,
            window_s=WINDOW_S,
            check_recovery=False,
            vary_headers=FORWARDING_HEADERS,
        )


def test_limiter_on_the_peer_holds_against_every_header() -> None:
    result = _burst(None)
    assert result.first_429_at == LIMIT + 1
    assert [c.header for c in result.headers] == list(FORWARDING_HEADERS)
    assert all(c.verdict == "held" for c in result.headers)
    assert result.problems(margin=LIMIT) == []


def test_a_window_that_rolls_over_during_a_check_is_checked_again_not_called_a_bypass() -> None:
    # The 8th request opens a new window: the first header's check sees 2xx answers with and
    # without its header, which tells nothing; the probe refills the window and checks again.
    result = _burst(None, roll_at=8)
    assert result.first_429_at == LIMIT + 1
    assert all(c.verdict == "held" for c in result.headers)
    assert result.problems(margin=LIMIT) == []


@pytest.mark.parametrize("header", FORWARDING_HEADERS)
def test_limiter_keyed_on_a_client_header_is_named(header: str) -> None:
    result = _burst(header)
    assert result.first_429_at is not None  # the plain burst alone sees nothing wrong
    bypassed = [c.header for c in result.headers if c.verdict == "bypassed"]
    assert bypassed == [header]
    problems = result.problems(margin=LIMIT)
    assert len(problems) == 1 and f"client-chosen {header}" in problems[0]


def test_spoofed_values_change_and_follow_the_header_syntax() -> None:
    first, second = spoofed_header("X-Forwarded-For"), spoofed_header("X-Forwarded-For")
    assert first != second
    assert spoofed_header("Forwarded")["Forwarded"].startswith("for=198.51.100.")


def _guess(**flags: object):
    target, _ = fake_target("form", lockout=True, **flags)
    return guess(
        target,
        target.profile.auth.user("carol"),
        attempts=5,
        sources=["127.0.0.81", "127.0.0.82"],
        pause_s=0,
        vary_headers=[(h, f"127.0.0.{110 + i}") for i, h in enumerate(FORWARDING_HEADERS)],
    )


def test_account_lockout_holds_against_every_header() -> None:
    result = _guess()
    assert result.final is not None and not result.final.logged_in
    tried = [(a.header, a.password, a.status) for a in result.attempts if a.header]
    assert tried == [(h, p, 423) for h in FORWARDING_HEADERS for p in ("wrong", "right")]
    assert result.header_bypasses == []


def test_lockout_keyed_on_a_client_header_is_named() -> None:
    result = _guess(lockout_key_header="Forwarded")
    assert result.final is not None and not result.final.logged_in  # locked without it
    assert [a.header for a in result.header_bypasses] == ["Forwarded"]
    assert result.header_bypasses[0].source == "127.0.0.112"
