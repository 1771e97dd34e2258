"""API-03 mass assignment: privileged or read-only properties sent at create or update must
not take effect.

For every create (POST) and update (PUT, PATCH) operation with a JSON object body, the probe
first sends the operation's own example body (the positive control: the write works as this
user), then the same body with one extra property at a time:

* the body schema's ``readOnly`` properties;
* privileged names the body schema does not list (``role``, ``is_admin``, ``owner_id``,
  ``verified``, ``balance``...).

An extra property is *effective* when reading back shows the value sent where it was not
before: the object itself (a GET of the updated path, or of the created object's path, else
the create's own answer) and the user's identity document (``auth.me_path``: a role lands
there). A refusal (4xx) or a silent drop is the control's pass. An effective change is undone
afterwards with the value read before, through the same write, so the target is left as it was.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from harness.operations import Operation, RequestSpec, ValuePool, example, request_for
from harness.operations.requests import first_id

Sender = Callable[[RequestSpec], httpx.Response]
Outcome = Literal["effective", "ignored", "refused", "error"]

BUDGET_S = 45.0
MAX_PROPERTIES = 8
# Names that grant rights, move ownership or money, or vouch for the account.
PRIVILEGED: dict[str, Any] = {
    "role": "admin",
    "roles": ["admin"],
    "is_admin": True,
    "isAdmin": True,
    "admin": True,
    "is_superuser": True,
    "is_staff": True,
    "permissions": ["admin"],
    "owner_id": 1,
    "owner": "admin",
    "user_id": 1,
    "verified": True,
    "is_verified": True,
    "email_verified": True,
    "balance": 1_000_000,
    "credit": 1_000_000,
}


class Trial(BaseModel):
    """One extra property sent to one operation, and what became of it."""

    operation: str
    path: str
    prop: str
    why: str  # read-only | privileged
    sent: Any
    status: int
    outcome: Outcome
    where: str = ""  # the read-back pointer that showed it
    restored: bool | None = None


class MassAssignmentReport(BaseModel):
    writes: int = Field(description="create/update operations with a JSON object body")
    exercised: list[str] = Field(default_factory=list, description="base write answered 2xx")
    not_exercised: dict[str, str] = Field(default_factory=dict)
    trials: list[Trial] = Field(default_factory=list)

    @property
    def effective(self) -> list[Trial]:
        return [t for t in self.trials if t.outcome == "effective"]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.outcome] = counts.get(trial.outcome, 0) + 1
        told = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"
        return (
            f"exercised {len(self.exercised)} of {self.writes} create/update operations; "
            f"{len(self.trials)} extra properties sent ({told})"
        )


def candidates(op: Operation) -> list[tuple[str, str, Any]]:
    """(property, why, value) to try on ``op``: read-only ones first, then privileged names."""
    fields = op.body_fields()
    found: list[tuple[str, str, Any]] = []
    for name, schema in fields.items():
        if isinstance(schema, dict) and schema.get("readOnly"):
            found.append((name, "read-only", _marker(schema, name)))
    for name, value in PRIVILEGED.items():
        if name not in fields:
            found.append((name, "privileged", value))
    return found[:MAX_PROPERTIES]


def _marker(schema: dict[str, Any], name: str) -> Any:
    """A value the server would not assign by itself (an id it counts up, a timestamp)."""
    kind = schema.get("type")
    if kind == "integer":
        return 900_000 + secrets.randbelow(90_000)
    if kind == "string" and not schema.get("format") and not schema.get("enum"):
        return "harness-" + secrets.token_hex(4)
    return example(schema, name, None, "complete")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _find(data: Any, key: str, pointer: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Every (pointer, value) of a property named ``key`` in ``data``."""
    if depth > 6:
        return []
    found: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for name, value in data.items():
            where = f"{pointer}/{name}"
            if name == key:
                found.append((where, value))
            found += _find(value, key, where, depth + 1)
    elif isinstance(data, list):
        for index, value in enumerate(data[:20]):
            found += _find(value, key, f"{pointer}/{index}", depth + 1)
    return found


def _different(value: Any, before: list[Any]) -> Any:
    """``value``, or one that differs from what the property held before."""
    if value not in before:
        return value
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return f"{value}-x"


class MassAssignmentProbe:
    """Runs the trials; ``read_back`` GETs paths (None when the answer was not JSON)."""

    def __init__(self, send: Sender, ops: Sequence[Operation], me_path: str | None) -> None:
        self.send = send
        self.ops = list(ops)
        self.me_path = me_path
        self.pool = ValuePool()

    def _get(self, path: str) -> Any:
        response = self.send(RequestSpec(method="GET", path=path))
        return _json(response) if response.is_success else None

    def _item_path(self, op: Operation, answer: Any) -> str | None:
        """Where a created object can be read back: ``GET {path}/{id}`` when the API has it."""
        if op.method != "POST":
            return None
        created = first_id(answer) if isinstance(answer, dict | list) else None
        for other in self.ops:
            names = other.path_param_names
            if (
                created is not None
                and other.method == "GET"
                and len(names) >= 1
                and other.path.startswith(op.path.rstrip("/") + "/{")
                and other.path.count("/") == op.path.rstrip("/").count("/") + 1
            ):
                return other.path.replace("{" + names[-1] + "}", str(created))
        return None

    def _views(self, op: Operation, spec: RequestSpec, answer: Any) -> list[tuple[str, Any]]:
        """(label, data) read back after a write."""
        views: list[tuple[str, Any]] = []
        if op.method in ("PUT", "PATCH"):
            views.append((f"GET {spec.path}", self._get(spec.path)))
        else:
            item = self._item_path(op, answer)
            views.append((f"GET {item}", self._get(item)) if item else (f"{op.key} answer", answer))
        if self.me_path:
            views.append((f"GET {self.me_path}", self._get(self.me_path)))
        return views

    def run(self, *, budget_s: float = BUDGET_S) -> MassAssignmentReport:
        writes = [
            op
            for op in self.ops
            if op.method in ("POST", "PUT", "PATCH")
            and isinstance(op.body_schema, dict)
            and op.body_schema.get("type", "object") == "object"
            and (op.body_media_type is None or "json" in op.body_media_type)
        ]
        report = MassAssignmentReport(writes=len(writes))
        deadline = time.monotonic() + budget_s
        # Listings first: their ids fill the templated writes (the pool also fills bodies).
        for op in self.ops:
            if op.method == "GET" and not op.path_param_names:
                data = self._get(op.path)
                if data is not None:
                    self.pool.harvest(
                        data.get("items", data) if isinstance(data, dict) else data, op.path
                    )
        for op in writes:
            if time.monotonic() > deadline:
                report.not_exercised[op.key] = f"beyond the {budget_s:.0f} s budget"
                continue
            self._trial_op(op, report, deadline)
        return report

    def _trial_op(self, op: Operation, report: MassAssignmentReport, deadline: float) -> None:
        values: dict[str, Any] = {}
        for name in op.path_param_names:
            found = self.pool.for_param(op.path, name)
            if not found:
                report.not_exercised[op.key] = "no id for its path from a listing"
                return
            values[name] = found[0]
        base = request_for(op, values, pool=self.pool, style="complete")
        response = self.send(base)
        if not response.is_success:
            report.not_exercised[op.key] = f"its example body answered HTTP {response.status_code}"
            return
        report.exercised.append(op.key)
        answer = _json(response)
        if isinstance(answer, dict | list):
            self.pool.harvest(answer, op.path if op.method == "POST" else None)
        for prop, why, value in candidates(op):
            if time.monotonic() > deadline:
                break
            before = self._views(op, base, answer)
            held = [v for _, data in before for _, v in _find(data, prop)]
            sent = _different(value, held)
            spec = base.model_copy(deep=True)
            spec.json_body = {**(spec.json_body or {}), prop: sent}
            spec.has_body = True
            written = self.send(spec)
            trial = Trial(
                operation=op.key,
                path=spec.path,
                prop=prop,
                why=why,
                sent=sent,
                status=written.status_code,
                outcome="refused" if written.status_code < 500 else "error",
            )
            if written.is_success:
                trial.outcome = "ignored"
                after = self._views(op, spec, _json(written))
                for label, data in after:
                    hits = [p for p, v in _find(data, prop) if v == sent]
                    if hits:
                        trial.outcome, trial.where = "effective", f"{label} {hits[0]}"
                        break
                if trial.outcome == "effective":
                    trial.restored = self._restore(spec, prop, held)
            report.trials.append(trial)

    def _restore(self, spec: RequestSpec, prop: str, held: list[Any]) -> bool:
        """Put the value read before back, through the same write (updates only)."""
        if spec.method == "POST" or not held:
            return False
        undo = spec.model_copy(deep=True)
        undo.json_body = {**(undo.json_body or {}), prop: held[0]}
        return self.send(undo).is_success
