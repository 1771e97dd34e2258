"""Schema-violating input for every operation of the OpenAPI document.

For each operation with a body or parameters: wrong types, over-long strings, out-of-range
numbers, bad enum values, missing required fields, non-object bodies, malformed JSON and one
oversized payload. The answer must be a 4xx with a structured (JSON object) error body, never
a 5xx; and a clear schema violation must not be accepted with a 2xx.

Over-long strings are sent even where the document declares no maxLength: a document that
forgot the limit is exactly how a database column overflow turns into a 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from harness.operations import Operation, build_request
from harness.operations.valid_space import alternatives
from harness.probes.bounded import Fetched, failure_kind

Send = Callable[..., Fetched]
LONG = 20_000
# Size limits a reverse proxy answers before the app sees the request (its own error page).
FRONT_LIMITS = {413, 414, 431}
HUGE = 1_200_000


class Mutation(BaseModel):
    name: str
    location: str  # body, query, path, raw
    field: str | None = None
    value: Any = None
    raw: bytes | None = None
    violates: bool = True  # a clear schema violation: a 2xx is wrong too


class Outcome(BaseModel):
    op: str
    mutation: str
    status: int
    structured: bool
    problem: str | None = None
    excerpt: str = ""


# Answers that mean the mutation never reached the operation's validation: no answer,
# refused credentials, throttled.
NOT_REACHED = frozenset({0, 401, 403, 407, 429})


class Report(BaseModel):
    outcomes: list[Outcome] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    elapsed_s: float = 0.0
    # Operations with mutations to send (after ``skip``): what "checked N of M" counts, so
    # operations the time budget never reached are part of M.
    planned: list[str] = Field(default_factory=list)

    @property
    def problems(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problem]

    def operations(self) -> list[str]:
        return list(dict.fromkeys(o.op for o in self.outcomes))

    def checked(self) -> list[str]:
        """Operations at least one mutation reached (an answer other than 401/403/429)."""
        return list(dict.fromkeys(o.op for o in self.outcomes if o.status not in NOT_REACHED))

    def unreached(self) -> list[str]:
        """Operations every mutation of which answered 401/403/429 or not at all."""
        checked = set(self.checked())
        return [op for op in self.operations() if op not in checked]

    def not_sent(self) -> list[str]:
        """Planned operations the time budget left without a single mutation."""
        sent = set(self.operations())
        return [op for op in self.planned if op not in sent]

    def coverage(self) -> str:
        """``checked 12 of 40 operations; 2 refused (401/403/429); 26 not sent (time)``."""
        total = len(self.planned) or len(self.operations())
        line = f"checked {len(self.checked())} of {total} operations"
        if self.unreached():
            line += f"; {len(self.unreached())} answered only 401/403/429 or not at all"
        if self.not_sent():
            line += f"; {len(self.not_sent())} not reached within the time budget"
        return line


def _wrong_type(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "string":
        return {"not": ["a", "string"]}
    if kind in ("integer", "number"):
        return "not-a-number"
    if kind == "boolean":
        return {"x": 1}
    if kind == "array":
        return "not-an-array"
    if kind == "object":
        return [1, 2, 3]
    return {"unexpected": [1]}


def field_mutations(location: str, name: str, schema: dict[str, Any]) -> list[Mutation]:
    kind = schema.get("type")
    out: list[Mutation] = []
    # In a query string or path everything is text: "wrong type" only means something for
    # parameters declared as numbers or booleans.
    if location == "body" or kind in ("integer", "number", "boolean"):
        out.append(
            Mutation(
                name=f"{name}: wrong type",
                location=location,
                field=name,
                value=_wrong_type(schema),
                violates=bool(kind),
            )
        )
    if kind == "string" or (not kind and not schema.get("enum")):
        declared = schema.get("maxLength")
        # URLs stay below common front-end limits (8 KiB lines): the app must see the value.
        length = LONG if location == "body" else 4_000
        out.append(
            Mutation(
                name=f"{name}: over-long string ({length} chars)",
                location=location,
                field=name,
                value="A" * length,
                violates=declared is not None and int(declared) < length,
            )
        )
    if kind in ("integer", "number"):
        out.append(
            Mutation(
                name=f"{name}: out of range (2**70)",
                location=location,
                field=name,
                value=2**70,
                violates="maximum" in schema,
            )
        )
        out.append(
            Mutation(
                name=f"{name}: negative",
                location=location,
                field=name,
                value=-1,
                violates="minimum" in schema and float(schema["minimum"]) > -1,
            )
        )
    if schema.get("enum"):
        out.append(
            Mutation(
                name=f"{name}: value outside the enum",
                location=location,
                field=name,
                value="not-in-enum-\u2603",
            )
        )
    if location == "query":
        # The rest of the valid space (other enum members, boundaries): a 5xx there is a crash
        # the deterministic example never reaches. Query only: a valid body is a real write,
        # and path values are the ids the walk discovered.
        for value in alternatives(schema, limit=2):
            out.append(
                Mutation(
                    name=f"{name}: valid value {value!r}",
                    location=location,
                    field=name,
                    value=value,
                    violates=False,
                )
            )
    return out


def mutations(op: Operation, *, csrf_header: str | None = None) -> list[Mutation]:
    out: list[Mutation] = []
    if csrf_header and op.method in ("POST", "PUT", "PATCH", "DELETE"):
        # Headers are input too: a token compared as text must not crash on non-ASCII bytes.
        out.append(
            Mutation(
                name=f"{csrf_header}: non-ASCII bytes",
                location="header",
                field=csrf_header,
                value="tok\u00bf\u00e9".encode("latin-1"),
                violates=False,
            )
        )
    if op.body_schema is not None:
        out.append(Mutation(name="malformed JSON", location="raw", raw=b'{"unterminated": '))
        out.append(Mutation(name="body is a JSON array", location="raw", raw=b"[1, 2, 3]"))
        out.append(
            Mutation(
                name=f"oversized body ({HUGE // 1000} kB)",
                location="raw",
                raw=json.dumps({"padding": "A" * HUGE}).encode(),
                violates=False,
            )
        )
        required = list(op.body_schema.get("required") or [])
        if required:
            out.append(
                Mutation(
                    name=f"required field {required[0]!r} missing",
                    location="drop",
                    field=required[0],
                )
            )
        for name, schema in op.body_fields().items():
            out.extend(field_mutations("body", name, schema))
    for param in op.params:
        if param.location in ("query", "path"):
            out.extend(field_mutations(param.location, param.name, param.schema_))
    return out


def is_structured(response: Fetched) -> bool:
    if "json" not in response.content_type:
        return False
    try:
        return isinstance(json.loads(response.body), dict)
    except ValueError:
        return False


def run(
    send: Send,
    ops: list[Operation],
    ids: dict[str, Any],
    *,
    per_op: int = 12,
    total_s: float = 45.0,
    skip: Callable[[Operation], bool] | None = None,
    csrf_header: str | None = None,
) -> Report:
    report = Report()
    started = time.monotonic()
    report.planned = [
        op.key
        for op in ops
        if not (skip is not None and skip(op)) and mutations(op, csrf_header=csrf_header)
    ]
    for op in ops:
        if skip is not None and skip(op):
            report.skipped.append(f"{op.key}: excluded (session or destructive operation)")
            continue
        todo = mutations(op, csrf_header=csrf_header)[:per_op]
        if not todo:
            continue
        for mutation in todo:
            if time.monotonic() - started > total_s:
                report.skipped.append(f"{op.key} and later: total time budget {total_s}s spent")
                report.elapsed_s = time.monotonic() - started
                return report
            method, path, kwargs = build_request(
                op,
                ids,
                None
                if mutation.location in ("raw", "drop", "header")
                else (mutation.location, mutation.field or "", mutation.value),
            )
            if mutation.location == "header":
                kwargs["headers"] = {mutation.field or "": mutation.value}
            if mutation.location == "raw":
                kwargs.pop("json", None)
                kwargs.pop("data", None)
                kwargs["content"] = mutation.raw
                kwargs["headers"] = {"Content-Type": "application/json"}
            elif mutation.location == "drop":
                # A JSON body, or a form's fields (crawled operations).
                for kind in ("json", "data"):
                    if isinstance(kwargs.get(kind), dict):
                        kwargs[kind] = {
                            k: v for k, v in kwargs[kind].items() if k != mutation.field
                        }
            response = send(method, path, **kwargs)
            # A server-rendered form answers in HTML and re-renders itself with 200 on bad
            # input: for crawled operations only crashes and silence count.
            api = op.source == "openapi"
            outcome = Outcome(
                op=op.key,
                mutation=mutation.name,
                status=response.status,
                structured=is_structured(response),
                excerpt=response.body[:300],
            )
            if response.status == 0:
                # A dropped connection is how a crashed worker answers; a timeout says nothing
                # about the input: recorded in the excerpt, not a problem.
                kind = failure_kind(response.error)
                if kind == "timed out":
                    outcome.excerpt = f"no answer: {kind} ({response.error})"
                else:
                    outcome.problem = f"no answer: {kind} ({response.error})"
            elif response.status >= 500:
                outcome.problem = f"server error HTTP {response.status}"
            elif (
                api
                and 400 <= response.status < 500
                and not outcome.structured
                and response.status not in FRONT_LIMITS
            ):
                outcome.problem = (
                    f"HTTP {response.status} without a structured error "
                    f"(content-type {response.content_type or 'none'})"
                )
            elif api and 200 <= response.status < 300 and mutation.violates:
                outcome.problem = f"schema-violating input accepted (HTTP {response.status})"
            report.outcomes.append(outcome)
    report.elapsed_s = time.monotonic() - started
    return report
