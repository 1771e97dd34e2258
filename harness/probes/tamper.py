"""Tampered session cookies: forged, unsigned, truncated, bit-flipped, client-side formats.

Each variant is presented alone (a fresh client, no jar) to an authenticated route. The only
acceptable answers are "not authenticated" (401/403, or a redirect to the login page for
pages); a 2xx means the server trusted data it did not sign, a 5xx means it choked on it
(deserialisation of untrusted input).
"""

from __future__ import annotations

import base64
import json
import pickle
import secrets

from pydantic import BaseModel

from harness.probes.bounded import Fetched


class Variant(BaseModel):
    name: str
    value: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _flip(value: str, index: int) -> str:
    if not value:
        return value
    index %= len(value)
    ch = value[index]
    # Flip the top bit of the 6-bit base64 group: the low bits of a final base64 character
    # can be padding that decoders ignore, so a +1 change there may not change the bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.find(ch) + 32) % 64] if ch in alphabet else "A"
    return value[:index] + replacement + value[index + 1 :]


def identity_claims(user_ids: list[int | str], names: list[str]) -> list[dict[str, object]]:
    """Client-side session payloads in the shapes frameworks have used (all keys at once)."""
    claims: list[dict[str, object]] = []
    for uid in user_ids:
        for name in names or ["admin"]:
            claims.append(
                {
                    "user_id": uid,
                    "uid": uid,
                    "id": uid,
                    "sub": str(uid),
                    "user": name,
                    "username": name,
                    "role": "admin",
                    "is_admin": True,
                    "authenticated": True,
                    "csrf": "x",
                }
            )
    return claims


def variants(valid: str, user_ids: list[int | str], names: list[str]) -> list[Variant]:
    """Tampered versions of a real cookie value plus forged client-side sessions."""
    out = [
        Variant(name="forged random", value=secrets.token_urlsafe(32)),
        Variant(name="truncated (last 4 chars cut)", value=valid[:-4]),
        Variant(name="truncated to half", value=valid[: len(valid) // 2]),
        Variant(name="bit-flipped (last char)", value=_flip(valid, -1)),
        Variant(name="bit-flipped (middle)", value=_flip(valid, len(valid) // 2)),
        Variant(name="bit-flipped (first char)", value=_flip(valid, 0)),
        Variant(name="empty", value=""),
        Variant(name="oversized (8 KiB)", value="A" * 8192),
    ]
    # Signed values usually look like "<payload>.<signature>": drop or forge the signature.
    for sep in (".", "|", "--"):
        if sep in valid:
            payload = valid.rsplit(sep, 1)[0]
            out.append(Variant(name=f"unsigned (signature after {sep!r} removed)", value=payload))
            out.append(
                Variant(
                    name=f"signature replaced ({sep!r})",
                    value=payload + sep + _b64(secrets.token_bytes(20)),
                )
            )
    for index, claim in enumerate(identity_claims(user_ids, names)):
        raw = json.dumps(claim).encode()
        out.append(Variant(name=f"unsigned base64-JSON #{index + 1}", value=_b64(raw)))
        out.append(
            Variant(
                name=f"unsigned JWT alg=none #{index + 1}",
                value=_b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(raw) + ".",
            )
        )
        # A pickle of plain data: detects that the server unpickles cookies, without running
        # anything on it (no __reduce__ payload).
        out.append(
            Variant(name=f"pickled dict #{index + 1}", value=_b64(pickle.dumps(claim, protocol=2)))
        )
    seen: set[str] = {valid}
    unique: list[Variant] = []
    for variant in out:
        if variant.value not in seen:
            seen.add(variant.value)
            unique.append(variant)
    return unique


class TamperOutcome(BaseModel):
    variant: str
    value_excerpt: str
    status: int
    location: str | None = None
    accepted: bool
    server_error: bool
    kept: bool = False

    def describe(self, url: str) -> str:
        what = "was authenticated" if self.accepted else "caused a server error"
        if self.accepted and self.kept:
            what = "was kept as the session (no fresh cookie in its place)"
        return f"{url}: cookie variant '{self.variant}' {what} (HTTP {self.status})"


def judge(variant: Variant, response: Fetched, login_path: str) -> TamperOutcome:
    location = response.header("location")
    rejected = response.status in (401, 403) or (
        response.status in (301, 302, 303, 307, 308)
        and location is not None
        and login_path in location
    )
    return TamperOutcome(
        variant=variant.name,
        value_excerpt=variant.value[:60],
        status=response.status,
        location=location,
        accepted=not rejected and 200 <= response.status < 400,
        server_error=response.status >= 500 or response.status == 0,
    )


def reissues(response: Fetched, cookie_name: str) -> bool:
    """The answer hands out a (new) value of ``cookie_name``."""
    return any(
        key == "set-cookie" and value.split("=", 1)[0].strip() == cookie_name
        for key, value in response.header_list
    )


def judge_kept(variant: Variant, response: Fetched, cookie_name: str) -> TamperOutcome:
    """Anonymous sessions have no authenticated route: a tampered id is rejected when the app
    hands out a fresh cookie in its place, trusted when it keeps serving the id it got."""
    kept = not reissues(response, cookie_name) and 200 <= response.status < 400
    return TamperOutcome(
        variant=variant.name,
        value_excerpt=variant.value[:60],
        status=response.status,
        location=response.header("location"),
        accepted=kept,
        server_error=response.status >= 500 or response.status == 0,
        kept=kept,
    )
