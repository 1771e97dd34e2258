"""Client-chosen forwarding headers, for checks that a per-client decision is keyed on the
address the server can vouch for.

A limiter or lockout that keys on ``X-Forwarded-For``, ``X-Real-IP`` or ``Forwarded`` as the
client sent it gives every request a fresh bucket when the client changes the value. A proxy in
front (nginx) overwrites ``X-Real-IP`` and appends to ``X-Forwarded-For``, so only the entry the
proxy adds is trustworthy; the probes send each header with a new value per request, from one
source address, and expect the decision not to change.
"""

from __future__ import annotations

import itertools

FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")

# TEST-NET-2 (RFC 5737): documentation addresses that belong to no real client.
_counter = itertools.count(1)


def spoofed_address() -> str:
    """A new documentation address each call (198.51.100.1 .. 198.51.100.254, then round)."""
    return f"198.51.100.{(next(_counter) - 1) % 254 + 1}"


def spoofed_header(header: str) -> dict[str, str]:
    """``{header: value}`` naming a new client address in that header's syntax."""
    address = spoofed_address()
    if header.lower() == "forwarded":
        return {header: f"for={address};proto=https"}  # RFC 7239
    return {header: address}
