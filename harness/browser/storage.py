"""What a page's scripts can read: localStorage, sessionStorage and ``document.cookie``.

A value is a secret when it is one the harness knows (the session cookie the server set
HttpOnly, a user's password), when it has a token's shape (a JWT, a ``Bearer`` value) or when
its key names a credential and it is long enough to be one. A cookie a script can read is a
problem when it is the profile's session cookie or carries such a value.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from playwright.sync_api import Page

READ_STORAGE = """() => {
  const dump = (s) => { const o = {}; for (let i = 0; i < s.length; i++) { const k = s.key(i);
    o[k] = String(s.getItem(k)); } return o; };
  let local = {}, session = {};
  try { local = dump(window.localStorage); } catch (_) {}
  try { session = dump(window.sessionStorage); } catch (_) {}
  return { local, session, cookie: String(document.cookie || "") };
}"""

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"\bbearer\s+[A-Za-z0-9._~+/-]{16,}", re.IGNORECASE)
_CREDENTIAL_NAME = re.compile(
    r"token|secret|passw|api[_-]?key|auth|session|jwt|credential|bearer", re.IGNORECASE
)
MIN_NAMED_SECRET = 16  # a key named "token" holding "true" or "dark" is no credential


class StorageSnapshot(BaseModel):
    origin: str
    local: dict[str, str] = Field(default_factory=dict)
    session: dict[str, str] = Field(default_factory=dict)
    cookies: dict[str, str] = Field(default_factory=dict)  # readable by scripts


class StorageProblem(BaseModel):
    """One secret a script can read; the value itself is never kept."""

    origin: str
    where: str  # localStorage, sessionStorage, document.cookie
    key: str
    why: str


class StorageSummary(BaseModel):
    """What a visit's storage held, judged where the secrets are known: keys and problems
    only, so the record written for other processes carries no value."""

    origin: str
    keys: dict[str, list[str]] = Field(default_factory=dict)
    problems: list[StorageProblem] = Field(default_factory=list)


def summarise(
    snap: StorageSnapshot, known_secrets: list[str], session_cookie: str | None
) -> StorageSummary:
    return StorageSummary(
        origin=snap.origin,
        keys={
            "localStorage": sorted(snap.local),
            "sessionStorage": sorted(snap.session),
            "document.cookie": sorted(snap.cookies),
        },
        problems=problems(snap, known_secrets, session_cookie),
    )


def snapshot(page: Page) -> StorageSnapshot:
    data = page.evaluate(READ_STORAGE)
    cookies: dict[str, str] = {}
    for part in str(data.get("cookie", "")).split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies[name] = value
    origin = page.evaluate("() => String(window.location.origin)")
    return StorageSnapshot(
        origin=origin,
        local={str(k): str(v) for k, v in dict(data.get("local") or {}).items()},
        session={str(k): str(v) for k, v in dict(data.get("session") or {}).items()},
        cookies=cookies,
    )


def problems(
    snap: StorageSnapshot, known_secrets: list[str], session_cookie: str | None
) -> list[StorageProblem]:
    """Every secret a script on ``snap.origin`` can read."""
    found: list[StorageProblem] = []
    stores = (
        ("localStorage", snap.local),
        ("sessionStorage", snap.session),
        ("document.cookie", snap.cookies),
    )
    for where, items in stores:
        for key, value in items.items():
            why = _why_secret(key, value, known_secrets)
            if why is None and where == "document.cookie" and session_cookie == key:
                why = "the session cookie is readable by scripts (not HttpOnly)"
            if why is not None:
                found.append(StorageProblem(origin=snap.origin, where=where, key=key, why=why))
    return found


def _why_secret(key: str, value: str, known: list[str]) -> str | None:
    for secret in known:
        if len(secret) >= 8 and secret in value:
            return "holds a credential the harness knows (a session id, token or password)"
    if _JWT.search(value):
        return "holds a JSON Web Token"
    if _BEARER.search(value):
        return "holds a bearer token"
    if _CREDENTIAL_NAME.search(key) and len(value) >= MIN_NAMED_SECRET:
        return f"a credential-named key with a {len(value)}-character value"
    return None
