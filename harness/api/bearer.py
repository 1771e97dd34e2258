"""API-06: is a bearer JWT signed, verified and bounded in time?

From one real token of the profile's login, the probe forges variants and sends each to the
profile's ``auth.me_path`` (an operation that needs the credential): ``alg: none`` with no
signature, the real header and claims with a broken signature, and, when the token is
HMAC-signed, tries a small built-in wordlist of common secrets offline. A found secret is
proved online: a token the probe signs itself, with a fresh id and an expiry already past, must
be refused; if it is accepted the secret is confirmed and the expiry is ignored. A token
without an ``exp`` claim is a failure by itself.

Positive controls: the real token must be accepted and no token must be refused on the same
operation, else nothing the probe sees can be judged (``not_evaluated``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

# Secrets that ship in tutorials, framework defaults and .env examples. Small on purpose: the
# point is "a secret someone would guess", not a cracking run.
WORDLIST: tuple[str, ...] = (
    "secret",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "supersecret",
    "topsecret",
    "s3cr3t",
    "changeme",
    "change-me",
    "changeit",
    "password",
    "passw0rd",
    "123456",
    "12345678",
    "qwerty",
    "letmein",
    "admin",
    "default",
    "test",
    "testing",
    "dev",
    "development",
    "key",
    "jwt",
    "jwtsecret",
    "jwt-secret",
    "jwt_secret",
    "jwt_secret_key",
    "your-256-bit-secret",
    "your-secret-key",
    "your_jwt_secret",
    "keyboard cat",
    "shhhhh",
    "token",
    "private",
    "hello",
    "django-insecure",
    "flask-secret",
)
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}

# (status, body excerpt) of one request carrying ``token`` (None: no Authorization header).
Send = Callable[[str | None], tuple[int, str]]


class Attempt(BaseModel):
    name: str
    status: int
    accepted: bool
    detail: str = ""


class BearerReport(BaseModel):
    header: dict[str, Any] = Field(default_factory=dict)
    claims: dict[str, Any] = Field(default_factory=dict)
    baseline_status: int = 0
    anonymous_status: int = 0
    attempts: list[Attempt] = Field(default_factory=list)
    weaknesses: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def judgeable(self) -> bool:
        return 200 <= self.baseline_status < 300 and self.anonymous_status in (401, 403)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, claims) of a compact JWS, or None when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = json.loads(unb64(parts[0])), json.loads(unb64(parts[1]))
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    return header, claims


def encode(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A compact JWS; unsigned (empty signature) when ``key`` is None."""
    head = b64(json.dumps(header, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    if key is None:
        return f"{head}.{body}."
    digest = _HMAC.get(str(header.get("alg")), hashlib.sha256)
    return f"{head}.{body}.{b64(hmac.new(key, f'{head}.{body}'.encode(), digest).digest())}"


def crack(token: str, wordlist: tuple[str, ...] = WORDLIST) -> str | None:
    """The wordlist secret that signs ``token`` (HMAC algorithms only), else None."""
    parts = token.split(".")
    parsed = parse(token)
    if parsed is None or len(parts) != 3:
        return None
    digest = _HMAC.get(str(parsed[0].get("alg")))
    if digest is None:
        return None
    signing_input = f"{parts[0]}.{parts[1]}".encode()
    signature = unb64(parts[2])
    for word in wordlist:
        if hmac.compare_digest(hmac.new(word.encode(), signing_input, digest).digest(), signature):
            return word
    return None


def probe(token: str, send: Send) -> BearerReport:
    """Forge variants of ``token`` and judge how the target answers each."""
    parsed = parse(token)
    report = BearerReport()
    if parsed is None:
        report.notes.append("the credential is not a JSON Web Token (compact JWS)")
        return report
    report.header, report.claims = parsed
    report.baseline_status = send(token)[0]
    report.anonymous_status = send(None)[0]
    if not report.judgeable:
        return report

    def attempt(name: str, forged: str, detail: str = "") -> bool:
        status, _ = send(forged)
        accepted = 200 <= status < 300
        report.attempts.append(Attempt(name=name, status=status, accepted=accepted, detail=detail))
        return accepted

    header, claims = parsed
    head, body, signature = token.split(".")
    for alg in ("none", "None"):
        if attempt(f"alg {alg}", encode({**header, "alg": alg}, claims, None)):
            report.weaknesses.append(f"a token with alg {alg!r} and no signature is accepted")
            break
    flipped = bytearray(unb64(signature) or b"\0")
    flipped[0] ^= 0x01
    if attempt("altered signature", f"{head}.{body}.{b64(bytes(flipped))}"):
        report.weaknesses.append("a token with an altered signature is accepted (not verified)")
    if "exp" not in claims:
        report.weaknesses.append("the token has no exp claim: it never expires")
    secret = crack(token)
    if secret is None:
        report.notes.append(
            f"no secret of the {len(WORDLIST)}-word list signs the token "
            f"(alg {header.get('alg')!r}; ignored expiry is judged only with a key in hand)"
        )
        return report
    report.weaknesses.append(f"the token is signed with a common secret ({secret!r})")
    now = int(time.time())
    expired = {**claims, "iat": now - 7200, "exp": now - 3600, "jti": secrets.token_hex(16)}
    if attempt("expired, signed with the found secret", encode(header, expired, secret.encode())):
        report.weaknesses.append("an expired token (signed with the found secret) is accepted")
    fresh = {**claims, "iat": now, "exp": now + 300, "jti": secrets.token_hex(16)}
    if attempt("fresh, signed with the found secret", encode(header, fresh, secret.encode())):
        report.notes.append("a token the probe signed with the found secret is accepted")
    return report
