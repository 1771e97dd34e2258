"""API-04 excessive data exposure: what the target's GET answers say that they should not.

Every GET operation the user can reach is called once (as that user) within a budget; each
JSON answer is walked for

* sensitive-named properties (``password_hash``, ``apiKey``, ``ssn``, ``refresh_token``...):
  a secret or personal field handed to the client is exposure whether documented or not;
* undocumented properties: keys that the operation's declared response schema does not list
  where that schema lists its properties and does not allow extra ones (a serialiser that
  returns the whole database row instead of the documented view).

Values are never copied into the report (they may be the very secrets found): only where the
property is, its type and length. Templated paths are filled with ids the listings returned
(read only: nothing is created), and an operation that cannot be filled is counted, not called.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from harness.operations import Operation, RequestSpec, ValuePool, request_for, resolve

Sender = Callable[[RequestSpec], httpx.Response]
Kind = Literal["sensitive", "undocumented"]

MAX_OPERATIONS = 40
BUDGET_S = 30.0
MAX_ITEMS = 20  # items of one array walked: the first ones show a serialiser's shape
MAX_DEPTH = 8

# Words (of a property name split at case changes and separators) that name secrets or
# personal data no API answer should carry back.
_SENSITIVE = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "hash",
        "hashed",
        "salt",
        "ssn",
        "cvv",
        "cvc",
        "pin",
        "privatekey",
        "apikey",
        "creditcard",
        "cardnumber",
    }
)
# Words that make a "token"/"key" name a credential.
_TOKEN = frozenset({"token", "jwt"})
_KEY_QUALIFIERS = frozenset({"api", "private", "secret", "access", "signing", "encryption"})
# A CSRF token is handed to its own session by design; a content hash or checksum is no secret;
# a pagination token is a cursor; metadata about a secret (its type, age, expiry, whether it
# is set) is not the secret.
_HARMLESS = frozenset(
    {
        "csrf",
        "xsrf",
        "content",
        "file",
        "etag",
        "commit",
        "checksum",
        "page",
        "cursor",
        "next",
        "continuation",
        "type",
        "expires",
        "expiry",
        "expiration",
        "expired",
        "changed",
        "updated",
        "created",
        "at",
        "age",
        "count",
        "length",
        "policy",
        "strength",
        "required",
        "enabled",
        "set",
        "has",
        "is",
    }
)
_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(_CAMEL.sub("_", name).lower()) if w]


def sensitive_name(name: str) -> bool:
    """True when a property's name says it holds a secret or personal data."""
    words = _words(name)
    joined = "".join(words)
    if not words or set(words) & _HARMLESS:
        return False
    if set(words) & _SENSITIVE or any(s in joined for s in ("password", "apikey", "privatekey")):
        return True
    if set(words) & _TOKEN:
        return True
    return "key" in words and bool(set(words) & _KEY_QUALIFIERS)


class Exposure(BaseModel):
    """One property an answer should not carry (its value is never kept)."""

    operation: str
    url_path: str
    pointer: str = Field(description="JSON pointer of the property in the answer")
    kind: Kind
    value_type: str
    value_length: int | None = None


class ExposureReport(BaseModel):
    operations: int = Field(description="GET operations of the target (after exclusions)")
    checked: list[str] = Field(default_factory=list, description="operations whose JSON was read")
    skipped: dict[str, str] = Field(default_factory=dict, description="operation -> why not read")
    exposures: list[Exposure] = Field(default_factory=list)
    documented: int = Field(default=0, description="checked answers with a declared schema")

    def budget_line(self) -> str:
        line = f"checked {len(self.checked)} of {self.operations} GET operations"
        if self.documented:
            line += f" ({self.documented} against a declared response schema)"
        if self.skipped:
            reasons: dict[str, int] = {}
            for why in self.skipped.values():
                reasons[why] = reasons.get(why, 0) + 1
            line += "; not read: " + ", ".join(f"{n} {why}" for why, n in reasons.items())
        return line


def response_schema(document: dict[str, Any], op: Operation, status: int) -> dict[str, Any] | None:
    """The JSON schema the document declares for ``op``'s ``status`` answer (resolved)."""
    item = (document.get("paths") or {}).get(op.path) or {}
    declared = (item.get(op.method.lower()) or {}).get("responses") or {}
    answer = declared.get(str(status)) or declared.get(f"{str(status)[0]}XX") or {}
    answer = resolve(document, answer)
    for media, body in (answer.get("content") or {}).items():
        if "json" in media and isinstance(body, dict) and body.get("schema"):
            return resolve(document, body["schema"])
    if isinstance(answer.get("schema"), dict):  # Swagger 2
        return resolve(document, answer["schema"])
    return None


def _closed(schema: dict[str, Any]) -> bool:
    """Does the schema list its properties and allow no others?"""
    extra = schema.get("additionalProperties")
    return isinstance(schema.get("properties"), dict) and (extra is None or extra is False)


def inspect(data: Any, schema: dict[str, Any] | None) -> list[tuple[str, Kind, Any]]:
    """(pointer, kind, value) of every sensitive-named or undocumented property of ``data``."""
    found: list[tuple[str, Kind, Any]] = []

    def walk(node: Any, node_schema: dict[str, Any] | None, pointer: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(node, list):
            items = (node_schema or {}).get("items") if node_schema else None
            for index, item in enumerate(node[:MAX_ITEMS]):
                walk(
                    item,
                    items if isinstance(items, dict) else None,
                    f"{pointer}/{index}",
                    depth + 1,
                )
            return
        if not isinstance(node, dict):
            return
        props = (node_schema or {}).get("properties") or {}
        closed = node_schema is not None and _closed(node_schema)
        for key, value in node.items():
            where = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if sensitive_name(str(key)) and _carries_value(value):
                found.append((where, "sensitive", value))
            elif closed and key not in props:
                found.append((where, "undocumented", value))
            child = props.get(key)
            walk(value, child if isinstance(child, dict) else None, where, depth + 1)

    walk(data, schema, "", 0)
    return found


def _carries_value(value: Any) -> bool:
    """A secret is a string, a number or a structure: a flag or a null says only whether
    there is one."""
    if value is None or isinstance(value, bool):
        return False
    return value != "" and value != [] and value != {}


def _shape(value: Any) -> tuple[str, int | None]:
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return "boolean", None
    if isinstance(value, int | float):
        return "number", None
    if isinstance(value, str):
        return "string", len(value)
    return ("array", len(value)) if isinstance(value, list) else ("object", len(value))


def _json(response: httpx.Response) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _fill(op: Operation, pool: ValuePool) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    for name in op.path_param_names:
        candidates = pool.for_param(op.path, name)
        if not candidates:
            return None
        values[name] = candidates[0]
    return values


def probe_exposure(
    send: Sender,
    ops: Iterable[Operation],
    document: dict[str, Any] | None,
    *,
    max_operations: int = MAX_OPERATIONS,
    budget_s: float = BUDGET_S,
) -> ExposureReport:
    """Call every reachable GET of ``ops`` once through ``send`` and inspect its JSON answer.

    Plain paths first (their answers hold the ids that fill templated ones). ``document`` is
    the OpenAPI document the operations came from (None for crawled ones: then only names
    are judged, there is no schema to say what is documented).
    """
    gets = sorted((op for op in ops if op.method == "GET"), key=lambda o: len(o.path_param_names))
    report = ExposureReport(operations=len(gets))
    pool = ValuePool()
    deadline = time.monotonic() + budget_s
    for op in gets:
        if len(report.checked) >= max_operations:
            report.skipped[op.key] = f"beyond the budget of {max_operations} operations"
            continue
        if time.monotonic() > deadline:
            report.skipped[op.key] = f"beyond the {budget_s:.0f} s budget"
            continue
        values = _fill(op, pool)
        if values is None:
            report.skipped[op.key] = "no id from a listing"
            continue
        spec = request_for(op, values, pool=pool)
        try:
            response = send(spec)
        except httpx.HTTPError as exc:
            report.skipped[op.key] = f"unanswered ({type(exc).__name__})"
            continue
        if not response.is_success:
            report.skipped[op.key] = "not answered 2xx"
            continue
        data = _json(response)
        if data is None:
            report.skipped[op.key] = "no JSON answer"
            continue
        pool.harvest(data if not isinstance(data, dict) else _listed(data), _collection(op))
        schema = response_schema(document, op, response.status_code) if document else None
        report.checked.append(op.key)
        report.documented += schema is not None
        for pointer, kind, value in inspect(data, schema):
            value_type, length = _shape(value)
            report.exposures.append(
                Exposure(
                    operation=op.key,
                    url_path=spec.path,
                    pointer=pointer,
                    kind=kind,
                    value_type=value_type,
                    value_length=length,
                )
            )
    return report


def _collection(op: Operation) -> str:
    return op.path if not op.path.endswith("}") else op.collection


def _listed(data: dict[str, Any]) -> Any:
    """A listing may be wrapped: ``{"items": [...]}``."""
    for key in ("items", "data", "results", "content"):
        if isinstance(data.get(key), list):
            return data[key]
    return data
