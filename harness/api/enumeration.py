"""API-05 account enumeration: do answers tell an existing account from an unknown one?

One endpoint (a login, a registration, a password reset) is tried with an account that exists
and with names that do not, through an ``Attempt`` the caller builds for that endpoint. Three
things are compared:

* status: the statuses of the two sets, once answers that only say "slow down" (429, and the
  423 of a lockout) are put aside;
* body: each answer normalised (the submitted name masked, JSON flattened to pointer -> value);
  what varies between answers of one set (a correlation id, a timestamp) is noise and dropped,
  and what is left must be the same for both sets;
* timing: in each round the medians of the two sets; a difference is a leak only when it has the
  same sign in every round and exceeds both a floor (``TIMING_FLOOR_MS``) and three times the
  round's own spread, so a loaded machine makes the check less sensitive, never wrong.

Lockouts: the existing account's failures are kept below a lockout in each round
(``per_round``), and the caller's ``reset`` (a successful login of that account, which both
proves it exists and clears its failure count) runs between rounds. Unknown names are fresh for
every attempt, so no unknown name ever collects failures of its own.
"""

from __future__ import annotations

import re
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

THROTTLED = frozenset({423, 429})
TIMING_FLOOR_MS = 20.0
NOISE_FACTOR = 3.0
_VOLATILE = re.compile(r"[0-9a-fA-F-]{8,}|\d{2,}")


class Observation(BaseModel):
    """One answer, as the comparison sees it."""

    status: int
    body: Any = None  # parsed JSON, or text
    elapsed_ms: float
    error: str | None = None


Attempt = Callable[[str, str], Observation]


def unknown_name(like: str) -> str:
    """A name that exists nowhere, shaped like ``like`` (an e-mail stays an e-mail)."""
    token = "zz" + secrets.token_hex(5)
    if "@" in like:
        return f"{token}@{like.split('@', 1)[1]}"
    return token


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}/{key}"))
        return out
    if isinstance(data, list):
        out = {}
        for index, value in enumerate(data[:20]):
            out.update(_flatten(value, f"{prefix}/{index}"))
        return out
    if isinstance(data, str) and "\n" in data:
        # Pages: line by line, so one line with a fresh token is noise, not the whole page.
        return {f"{prefix}#{n}": line.strip() for n, line in enumerate(data.splitlines())}
    return {prefix or "/": str(data)}


def normalised(observation: Observation, name: str) -> dict[str, str]:
    """Pointer -> value of the answer's body, the submitted name masked."""
    flat = _flatten(observation.body)
    return {k: v.replace(name, "<name>") if name else v for k, v in flat.items()}


def _stable(bodies: list[dict[str, str]]) -> dict[str, str]:
    """What every body of one set says alike (volatile values dropped)."""
    if not bodies:
        return {}
    first = bodies[0]
    keys = set(first)
    for body in bodies[1:]:
        keys &= set(body)
    return {k: first[k] for k in sorted(keys) if all(b.get(k) == first[k] for b in bodies)}


def _keys(bodies: list[dict[str, str]]) -> set[str]:
    return set().union(*bodies) if bodies else set()


class TimingRound(BaseModel):
    existing_median_ms: float
    unknown_median_ms: float
    spread_ms: float

    @property
    def difference_ms(self) -> float:
        return self.existing_median_ms - self.unknown_median_ms


class Comparison(BaseModel):
    """What one endpoint's answers gave away, with the figures behind it."""

    endpoint: str
    existing: list[Observation] = Field(default_factory=list)
    unknown: list[Observation] = Field(default_factory=list)
    throttled: int = Field(default=0, description="answers put aside: 423, 429, unanswered")
    compared: bool = Field(default=False, description="both sets had answers to compare")
    status_leak: str | None = None
    body_leak: str | None = None
    timing_leak: str | None = None
    rounds: list[TimingRound] = Field(default_factory=list)
    timing_note: str = ""

    @property
    def leaks(self) -> list[str]:
        return [x for x in (self.status_leak, self.body_leak, self.timing_leak) if x]

    @property
    def timing_difference_ms(self) -> float | None:
        if not self.rounds:
            return None
        return statistics.median(r.difference_ms for r in self.rounds)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _spread(values: list[float]) -> float:
    """Median absolute deviation: one slow outlier does not widen it."""
    if len(values) < 2:
        return 0.0
    centre = statistics.median(values)
    return statistics.median(abs(v - centre) for v in values)


def judge_timing(rounds: list[TimingRound]) -> str | None:
    """A leak only when every round shows it, the same way, above floor and noise."""
    if not rounds:
        return None
    signs = {r.difference_ms > 0 for r in rounds}
    if len(signs) != 1:
        return None
    big = [abs(r.difference_ms) >= max(TIMING_FLOOR_MS, NOISE_FACTOR * r.spread_ms) for r in rounds]
    if not all(big):
        return None
    diff = statistics.median(r.difference_ms for r in rounds)
    slower = "existing" if diff > 0 else "unknown"
    return (
        f"timing: answers for the {slower} account are {abs(diff):.0f} ms slower "
        f"(median of {len(rounds)} rounds' median differences, each above "
        f"{TIMING_FLOOR_MS:.0f} ms and {NOISE_FACTOR:.0f}x its spread)"
    )


def compare(
    endpoint: str,
    existing_name: str,
    existing: list[Observation],
    unknown: list[tuple[str, Observation]],
    rounds: list[TimingRound],
) -> Comparison:
    """Status, body and timing of answers for an existing account against unknown ones."""
    result = Comparison(endpoint=endpoint, existing=existing, unknown=[o for _, o in unknown])
    mine = [o for o in existing if o.status and o.status not in THROTTLED]
    theirs = [(n, o) for n, o in unknown if o.status and o.status not in THROTTLED]
    result.throttled = len(existing) + len(unknown) - len(mine) - len(theirs)
    if not mine or not theirs:
        return result
    result.compared = True
    statuses_e = sorted({o.status for o in mine})
    statuses_u = sorted({o.status for _, o in theirs})
    if statuses_e != statuses_u:
        result.status_leak = (
            f"status: existing account HTTP {statuses_e}, unknown HTTP {statuses_u}"
        )
    bodies_e = [normalised(o, existing_name) for o in mine]
    bodies_u = [normalised(o, name) for name, o in theirs]
    stable_e, stable_u = _stable(bodies_e), _stable(bodies_u)
    # A part one set always has and the other never has, or that each set says alike but
    # differently from the other.
    only_e = {k for k in stable_e if k not in _keys(bodies_u)}
    only_u = {k for k in stable_u if k not in _keys(bodies_e)}
    differ = {
        k
        for k in set(stable_e) & set(stable_u)
        if _VOLATILE.sub("#", stable_e[k]) != _VOLATILE.sub("#", stable_u[k])
    }
    if only_e or only_u or differ:
        parts = [f"{k}: {stable_e[k][:60]!r} vs {stable_u[k][:60]!r}" for k in sorted(differ)]
        parts += [f"{k} only for the existing account" for k in sorted(only_e)]
        parts += [f"{k} only for unknown accounts" for k in sorted(only_u)]
        result.body_leak = "body: " + "; ".join(parts[:5])
    result.rounds = rounds
    result.timing_leak = judge_timing(rounds)
    return result


class Sampling(BaseModel):
    """How many attempts, in how many rounds (bounded: the whole probe is a few dozen calls)."""

    rounds: int = 3
    per_round: int = 3  # below a lockout threshold of 4 or more
    budget_s: float = 60.0


def sample(
    endpoint: str,
    attempt: Attempt,
    existing_name: str,
    *,
    reset: Callable[[], None] | None = None,
    plan: Sampling | None = None,
) -> Comparison:
    """Interleaved attempts (existing, unknown, ...) in rounds, ``reset`` between rounds."""
    plan = plan or Sampling()
    existing: list[Observation] = []
    unknown: list[tuple[str, Observation]] = []
    rounds: list[TimingRound] = []
    deadline = time.monotonic() + plan.budget_s
    wrong = "wrong-" + secrets.token_hex(6)
    for number in range(plan.rounds):
        if time.monotonic() > deadline:
            break
        if number and reset is not None:
            reset()
        got_e: list[Observation] = []
        got_u: list[Observation] = []
        for pair in range(plan.per_round):
            name = unknown_name(existing_name)
            # Alternate which goes first: whatever the first of a pair pays (a cold
            # connection, a cache) must not land on one side only.
            if (number + pair) % 2:
                observed = attempt(name, wrong)
                got_e.append(attempt(existing_name, wrong))
            else:
                got_e.append(attempt(existing_name, wrong))
                observed = attempt(name, wrong)
            got_u.append(observed)
            unknown.append((name, observed))
        existing += got_e
        times_e = [o.elapsed_ms for o in got_e if o.status and o.status not in THROTTLED]
        times_u = [o.elapsed_ms for o in got_u if o.status and o.status not in THROTTLED]
        if times_e and times_u:
            rounds.append(
                TimingRound(
                    existing_median_ms=_median(times_e),
                    unknown_median_ms=_median(times_u),
                    spread_ms=max(_spread(times_e), _spread(times_u)),
                )
            )
    if reset is not None:
        reset()  # leave the account's failure count cleared
    result = compare(endpoint, existing_name, existing, unknown, rounds)
    if len(rounds) < plan.rounds:
        result.timing_note = f"timing from {len(rounds)} of {plan.rounds} rounds"
    return result
