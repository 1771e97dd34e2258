"""Safety modes: what the harness may send to a target, decided before a request leaves.

``safety = "intrusive"`` (the default for stacks the harness starts) sends everything.
``safety = "safe"`` (the default for ``provider = "external"``) refuses every state-changing
request that ``scope.allow_writes`` does not list, and the controls that need brute force,
bursts or stored payloads ask :meth:`SafetyPolicy.require_intrusive` first. ``scope.exclude``
lists operations nothing ever calls, in either mode.

The scope guard (:mod:`harness.scope`) runs :meth:`SafetyPolicy.check` on every request of
every client it builds, so a probe cannot forget the policy. A refusal is a
:class:`~harness.verdicts.NotEvaluated` (a pytest skip, hence a ``BaseException``): a probe's
``except Exception`` cannot turn it into a pass, and the plugin records
``not_evaluated: needs safety = intrusive (refused POST /x ...)`` with no special case.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from harness.profile import Profile, ProfileError
from harness.verdicts import NotEvaluated

Mode = Literal["safe", "intrusive"]

# Methods that never change state (RFC 9110 §9.2.1). Anything else, including a method the
# harness made up for a tampering probe, counts as a write.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
NEEDS_INTRUSIVE = "needs safety = intrusive"
EXCLUDED = "excluded by scope.exclude"
RECORD_NAME = "safety.json"
_HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})

_METHOD = re.compile(r"^(\*|[A-Z]+(\|[A-Z]+)*)$")


class SafetyRefusal(NotEvaluated):
    """A request (or a whole check) the safety policy refused before anything was sent."""

    def __init__(self, reason: str, request: str = "") -> None:
        super().__init__(reason)
        self.request = request


class Excluded(SafetyRefusal):
    """The operation is in ``scope.exclude``: never called, in any mode."""


class NeedsIntrusive(SafetyRefusal):
    """The mode is ``safe`` and the request or check needs ``safety = intrusive``."""


@dataclass(frozen=True)
class Rule:
    """One ``scope.allow_writes`` / ``scope.exclude`` entry.

    ``"POST /admin/reset-db"``, ``"DELETE /items/{id}"`` (a template matches one segment),
    ``"/admin/*"`` (every method; ``*`` matches anything, slashes included),
    ``"GET|POST /x"``, or a URL pattern ``"https://app.example/admin/*"``.
    """

    text: str
    methods: frozenset[str] | None  # None: every method
    pattern: re.Pattern[str]
    is_url: bool

    @classmethod
    def parse(cls, entry: str, key: str) -> Rule:
        parts = entry.strip().split(None, 1)
        methods: frozenset[str] | None = None
        if len(parts) == 2 and _METHOD.match(parts[0]):
            methods = None if parts[0] == "*" else frozenset(parts[0].split("|"))
            spec = parts[1].strip()
        elif len(parts) == 1:
            spec = parts[0]
        else:
            spec = ""
        is_url = "://" in spec
        if not spec or not (is_url or spec.startswith("/")):
            raise ProfileError(
                f"{key} entry {entry!r}: write 'METHOD /path' (templates such as /items/{{id}} "
                "and * allowed), '/path' for every method, or a URL pattern 'https://host/path*'"
            )
        return cls(entry, methods, _compile(spec, is_url), is_url)

    def matches(self, method: str, url: httpx.URL, base_path: str = "") -> bool:
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.is_url:
            return any(self.pattern.fullmatch(c) for c in _url_forms(url))
        path = _trim(url.path)
        candidates = [path]
        if base_path and path.startswith(base_path + "/"):
            candidates.append(path[len(base_path) :])
        return any(self.pattern.fullmatch(c) for c in candidates)


def _compile(spec: str, is_url: bool) -> re.Pattern[str]:
    """``{name}`` matches one path segment, ``*`` anything; the rest is literal."""
    if not is_url:
        spec = _trim(spec.split("?", 1)[0])
    out = []
    for token in re.split(r"(\{[^}/]*\}|\*)", spec):
        if token == "*":
            out.append(".*")
        elif token.startswith("{") and token.endswith("}"):
            out.append("[^/]+")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out), re.IGNORECASE if is_url else 0)


def _trim(path: str) -> str:
    return path.rstrip("/") or "/"


def _url_forms(url: httpx.URL) -> list[str]:
    port = f":{url.port}" if url.port else ""
    bare = f"{url.scheme}://{url.host}{port}{_trim(url.path)}"
    query = url.query.decode("ascii", "replace")
    return [bare, f"{bare}?{query}"] if query else [bare]


def _rules(entries: Iterable[str], key: str) -> list[Rule]:
    return [Rule.parse(entry, key) for entry in entries]


@dataclass
class SafetyPolicy:
    """The profile's safety settings, applied by the scope guard to every request."""

    mode: Mode = "intrusive"
    allow_writes: list[Rule] = field(default_factory=list)
    exclude: list[Rule] = field(default_factory=list)
    # The login and logout routes the profile names: listing users means "log in as them".
    login_writes: list[Rule] = field(default_factory=list)
    base_path: str = ""
    # Safe mode paces requests under the target's promised API rate (limits.api_*).
    rate: tuple[int, float] | None = None
    refused: dict[str, str] = field(default_factory=dict, init=False)  # what -> reason
    _sent: list[float] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_profile(cls, profile: Profile) -> SafetyPolicy:
        auth = profile.auth
        login: list[Rule] = []
        if auth.users and auth.flow != "none":
            paths = [auth.login_path, auth.api_login_path, auth.logout_path]
            login = _rules((f"POST {p}" for p in paths if p), "auth")
        limits = profile.limits
        rate = None
        if limits.api_requests and limits.api_window_s:
            rate = (limits.api_requests, limits.api_window_s)
        base = urlsplit(profile.target.base_url or "").path
        return cls(
            mode=profile.safety_mode,
            allow_writes=_rules(profile.scope.allow_writes, "scope.allow_writes"),
            exclude=_rules(profile.scope.exclude, "scope.exclude"),
            login_writes=login,
            base_path=_trim(base) if base.strip("/") else "",
            rate=rate,
        )

    @property
    def safe(self) -> bool:
        return self.mode == "safe"

    # -- the per-request decision --------------------------------------------------------------
    def refusal(self, method: str, url: str | httpx.URL) -> SafetyRefusal | None:
        """The exception :meth:`check` would raise, for probes that skip refused operations."""
        method = method.upper()
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url))
        what = f"{method} {parsed.path}"
        for rule in self.exclude:
            if rule.matches(method, parsed, self.base_path):
                return Excluded(f"{EXCLUDED} (refused {what}: matches {rule.text!r})", what)
        if not self.safe or method in SAFE_METHODS:
            return None
        for rule in [*self.allow_writes, *self.login_writes]:
            if rule.matches(method, parsed, self.base_path):
                return None
        return NeedsIntrusive(
            f"{NEEDS_INTRUSIVE} (refused {what}: a state-changing request not listed in "
            "scope.allow_writes)",
            what,
        )

    def without_excluded(self, document: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI document minus its ``scope.exclude`` operations (noted as refused)."""
        if not self.exclude or not isinstance(document.get("paths"), dict):
            return document
        paths: dict[str, Any] = {}
        for path, item in document["paths"].items():
            if not isinstance(item, dict):
                paths[path] = item
                continue
            kept = {}
            for key, op in item.items():
                refused = self.refusal(key, "http://openapi.invalid" + path)
                if key.upper() in _HTTP_METHODS and isinstance(refused, Excluded):
                    self._note(refused.request, refused.reason)
                    continue
                kept[key] = op
            paths[path] = kept
        return {**document, "paths": paths}

    def check(self, method: str, url: str | httpx.URL) -> None:
        """Raise :class:`Excluded` or :class:`NeedsIntrusive` before the request is sent."""
        refused = self.refusal(method, url)
        if refused is not None:
            self._note(refused.request, refused.reason)
            raise refused

    def hold(self, method: str, url: str | httpx.URL) -> NeedsIntrusive | None:
        """The safe mode's refusal of this request, noted, for walks that skip it and go on.

        ``scope.exclude`` is not a hold: excluded operations are out of the target's scope
        (already removed from its OpenAPI document), not coverage the mode held back.
        """
        refused = self.refusal(method, url)
        if not isinstance(refused, NeedsIntrusive):
            return None
        self._note(refused.request, refused.reason)
        return refused

    def require_intrusive(self, what: str) -> None:
        """For checks the safe mode forbids as a whole: brute force, bursts, stored payloads."""
        if self.safe:
            reason = f"{NEEDS_INTRUSIVE} ({what})"
            self._note(what, reason)
            raise NeedsIntrusive(reason, what)

    def _note(self, what: str, reason: str) -> None:
        with self._lock:
            self.refused.setdefault(what, reason)

    # -- pacing ------------------------------------------------------------------------------
    def delay(self) -> float:
        """Seconds to wait so this request keeps the run under the profile's API rate."""
        if not self.safe or self.rate is None:
            return 0.0
        limit, window = self.rate
        with self._lock:
            now = time.monotonic()
            self._sent[:] = [t for t in self._sent if t > now - window]
            wait = 0.0
            if len(self._sent) >= limit:
                wait = self._sent[-limit] + window - now
            self._sent.append(now + max(wait, 0.0))
            return max(wait, 0.0)

    # -- what the run says about itself ----------------------------------------------------------
    def describe(self) -> list[str]:
        """The lines a run and a report header show: the mode and what it leaves out."""
        lines = [f"safety = {self.mode}"]
        if self.safe:
            listed = ", ".join(r.text for r in self.allow_writes) or "none"
            lines.append(
                "safe mode: no state-changing request except scope.allow_writes "
                f"({listed}){' and the profile login' if self.login_writes else ''}; no brute "
                "force or lockout attempt; no bursts; no stored payloads; DAST passive only"
            )
            if self.rate is not None:
                lines.append(f"paced under {self.rate[0]} requests per {self.rate[1]:g}s")
        else:
            lines.append("intrusive mode: writes, brute force, bursts and active DAST included")
        if self.exclude:
            lines.append("never called (scope.exclude): " + ", ".join(r.text for r in self.exclude))
        return lines

    def record(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "allow_writes": [r.text for r in self.allow_writes],
            "exclude": [r.text for r in self.exclude],
            "refused": [{"request": k, "reason": v} for k, v in self.refused.items()],
        }

    def write_record(self, out_dir: Path, name: str = RECORD_NAME) -> Path:
        """Merge this process's refusals into ``out_dir/safety.json`` (xdist workers share it)."""
        path = out_dir / name
        merged = self.record()
        if path.is_file():
            old = json.loads(path.read_text(encoding="utf-8"))
            seen = {(r["request"], r["reason"]) for r in merged["refused"]}
            merged["refused"] += [
                r for r in old.get("refused", []) if (r["request"], r["reason"]) not in seen
            ]
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(merged, indent=2), encoding="utf-8")
        return path


def skipped_controls(controls: Iterable[tuple[str, str, str | None]]) -> list[str]:
    """``"ID: reason"`` for every control the safety policy held back.

    ``controls`` is ``(id, verdict, reason)`` per control, as results.json has them; the report
    header lists these under the mode.
    """
    out = []
    for control_id, verdict, reason in controls:
        if (
            verdict == "not_evaluated"
            and reason
            and (NEEDS_INTRUSIVE in reason or EXCLUDED in reason)
        ):
            out.append(f"{control_id}: {reason}")
    return out
