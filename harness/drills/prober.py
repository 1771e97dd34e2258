"""Steady traffic over a drill: a small mix of reads and writes, every answer recorded.

The prober runs in a thread and sends its calls in turn, one at a time with a pause between
them, through a client the caller built (a scoped client of the target, so the egress guard
sees every request). Each answer becomes a :class:`Sample`: when it was sent, its status
(0: no answer, with the error), its latency and which release answered. The drill marks its
steps as :class:`Event`s on the same clock, and reads its figures (failed requests, longest
gap, time to recover, writes lost) from the samples of any window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

Kind = Literal["read", "write"]


class ProbeCall(BaseModel):
    """One request of the mix; ``body`` makes a fresh JSON body per write (unique values)."""

    kind: Kind = "read"
    method: str = "GET"
    path: str
    release_field: str | None = Field(
        default=None, description="the JSON field of the answer that names the release"
    )
    instance_field: str | None = Field(
        default=None,
        description="the JSON field of the answer that names the instance that answered "
        "(blue or green in a blue-green drill)",
    )
    min_interval_s: float = Field(
        default=0.0,
        ge=0,
        description="send this call at most once per this many seconds (its turn is skipped "
        "until then): a costly call, or one behind a tight rate limit, paced below it",
    )


class Sample(BaseModel):
    t: float = Field(description="seconds since the prober started, when the request was sent")
    kind: Kind
    method: str
    path: str
    status: int = Field(description="HTTP status; 0 when the target did not answer")
    latency_ms: float
    release: str | None = None
    instance: str | None = None
    error: str | None = None
    created: str | None = Field(default=None, description="path of the object a write made")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    @property
    def end(self) -> float:
        return self.t + self.latency_ms / 1000


class Event(BaseModel):
    t: float
    label: str


class Figures(BaseModel):
    """What a window of samples says; ``writes_lost`` is None until writes are read back."""

    requests: int = 0
    failed: int = 0
    failed_by_status: dict[str, int] = Field(default_factory=dict)
    longest_gap_s: float = Field(
        default=0.0, description="longest time without a successful answer"
    )
    time_to_recover_s: float = Field(
        default=0.0, description="first failure to the first success after the last failure"
    )
    writes_acknowledged: int = 0
    writes_lost: int | None = None
    releases: list[str] = Field(default_factory=list, description="releases seen, in order")


Send = Callable[[str, str, dict[str, Any]], httpx.Response]
BodyFactory = Callable[[int], dict[str, Any]]


class Prober:
    """Sends ``calls`` in turn until stopped; thread-safe reads of what it recorded."""

    def __init__(
        self,
        send: Send,
        calls: Sequence[ProbeCall],
        *,
        interval_s: float = 0.05,
        body: BodyFactory | None = None,
    ) -> None:
        if not calls:
            raise ValueError("the prober needs at least one call")
        self._send = send
        self._calls = list(calls)
        self._interval = interval_s
        self._body = body
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._events: list[Event] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()

    # -- clock and marks ---------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() - self._t0

    def mark(self, label: str) -> float:
        """Record a drill step on the prober's clock; returns its time."""
        t = self.now()
        with self._lock:
            self._events.append(Event(t=t, label=label))
        return t

    # -- running -----------------------------------------------------------------------------
    def start(self) -> Prober:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def __enter__(self) -> Prober:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        n = 0
        skipped = 0
        last: dict[int, float] = {}
        while not self._stop.is_set():
            index = n % len(self._calls)
            call = self._calls[index]
            n += 1
            sent = last.get(index)
            if call.min_interval_s and sent is not None and self.now() - sent < call.min_interval_s:
                skipped += 1
                if skipped >= len(self._calls):  # every call is paced: wait, do not spin
                    skipped = 0
                    self._stop.wait(self._interval)
                continue
            skipped = 0
            last[index] = self.now()
            sample = self.call(call, n - 1)
            with self._lock:
                self._samples.append(sample)
            self._stop.wait(self._interval)

    def call(self, call: ProbeCall, n: int) -> Sample:
        """Send one call and describe its answer (never raises for the target's behaviour)."""
        kwargs: dict[str, Any] = {}
        if call.kind == "write" and self._body is not None:
            kwargs["json"] = self._body(n)
        t = self.now()
        began = time.perf_counter()
        try:
            response = self._send(call.method, call.path, kwargs)
        except httpx.HTTPError as exc:
            latency = (time.perf_counter() - began) * 1000
            return Sample(
                t=t,
                kind=call.kind,
                method=call.method,
                path=call.path,
                status=0,
                latency_ms=latency,
                error=f"{type(exc).__name__}: {exc}"[:200],
            )
        latency = (time.perf_counter() - began) * 1000
        data = _json(response)
        release = instance = None
        if call.release_field and isinstance(data, dict) and call.release_field in data:
            release = str(data[call.release_field])
        if call.instance_field and isinstance(data, dict) and call.instance_field in data:
            instance = str(data[call.instance_field])
        created = None
        if call.kind == "write" and 200 <= response.status_code < 300 and isinstance(data, dict):
            ident = data.get("id")
            if ident is not None:
                created = f"{call.path.rstrip('/')}/{ident}"
        return Sample(
            t=t,
            kind=call.kind,
            method=call.method,
            path=call.path,
            status=response.status_code,
            latency_ms=latency,
            release=release,
            instance=instance,
            created=created,
        )

    # -- what it saw -------------------------------------------------------------------------
    @property
    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Wait until ``count`` more samples are in (a loaded machine answers slowly)."""
        goal = len(self.samples) + count
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.samples) >= goal:
                return True
            time.sleep(0.02)
        return False


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def window(samples: Sequence[Sample], start: float, end: float | None = None) -> list[Sample]:
    """The samples sent in [start, end)."""
    return [s for s in samples if s.t >= start and (end is None or s.t < end)]


def figures(samples: Sequence[Sample]) -> Figures:
    """Failed requests, the longest stretch without a success, and the time to recover."""
    out = Figures(requests=len(samples))
    failed = [s for s in samples if not s.ok]
    out.failed = len(failed)
    for s in failed:
        key = str(s.status) if s.status else "no answer"
        out.failed_by_status[key] = out.failed_by_status.get(key, 0) + 1
    ok_ends = sorted(s.end for s in samples if s.ok)
    if samples:
        edges = [min(s.t for s in samples), *ok_ends, max(s.end for s in samples)]
        out.longest_gap_s = round(max(b - a for a, b in zip(edges, edges[1:], strict=False)), 3)
    if failed:
        first = min(s.t for s in failed)
        last = max(s.t for s in failed)
        after = [s.end for s in samples if s.ok and s.t > last]
        out.time_to_recover_s = round(
            (min(after) if after else max(s.end for s in samples)) - first, 3
        )
    out.writes_acknowledged = sum(1 for s in samples if s.created)
    seen: list[str] = []
    for s in sorted(samples, key=lambda x: x.t):
        if s.release is not None and (not seen or seen[-1] != s.release):
            seen.append(s.release)
    out.releases = seen
    return out


def recovered_at(
    samples: Sequence[Sample], after: float, release: str | None = None
) -> float | None:
    """When the target was back: the first success sent after ``after`` from which every later
    answer succeeds (and, with ``release``, every later release reading names it)."""
    later = sorted(window(samples, after), key=lambda s: s.t)
    found: float | None = None
    for s in later:
        good = s.ok and (release is None or s.release is None or s.release == release)
        if not good:
            found = None
        elif found is None:
            found = s.end
    return found


class ReadBack(BaseModel):
    checked: int = 0
    lost: list[str] = Field(default_factory=list, description="paths answered 404/410")
    unanswered: list[str] = Field(
        default_factory=list, description="paths read back with no answer or another status"
    )


def read_back(send: Send, samples: Sequence[Sample]) -> ReadBack:
    """Read every acknowledged write back: gone (404, 410) is lost; anything else that is not
    200 is unknown, never counted as lost."""
    out = ReadBack()
    for path in [s.created for s in samples if s.created]:
        out.checked += 1
        try:
            response = send("GET", path, {})
        except httpx.HTTPError as exc:
            out.unanswered.append(f"{path} ({type(exc).__name__})")
            continue
        if response.status_code in (404, 410):
            out.lost.append(path)
        elif response.status_code != 200:
            out.unanswered.append(f"{path} ({response.status_code})")
    return out
