"""Safe mode's rate cap as one schedule per Locust process.

Each user waiting ``users / cap`` seconds after its request still lets every user send its first
request at once when it spawns, so a run overshoots the cap at the start (6 users at 4 rps sent
24 requests in 4.6 s). One shared schedule hands out send times ``1 / cap`` apart instead, the
first request of each user included; gevent runs one greenlet at a time, so it needs no lock.
"""

from __future__ import annotations

import time


class Pacer:
    def __init__(self) -> None:
        self._next = 0.0

    def delay(self, interval_s: float) -> float:
        """Seconds to wait before the next request, booking the slot ``interval_s`` after it."""
        now = time.monotonic()
        at = max(now, self._next)
        self._next = at + interval_s
        return at - now


PACER = Pacer()
