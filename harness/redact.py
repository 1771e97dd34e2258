"""Redaction: secrets never reach an evidence file, a report or results.json.

Two layers: patterns that recognise secrets by shape or by the field that carries them
(credential headers, token fields, bearer tokens, Fernet keys, PEM private keys), and exact
values registered during the run (profile passwords, tokens the mock provider issued, anything a
test passes to ``evidence.secret``) together with their base64, hex and URL-encoded forms.

A redacted value becomes ``«redacted:<tag>»``. The tag is a keyed hash (HMAC-SHA256, 8 hex
digits) so the same secret gets the same tag everywhere in one run, which lets an auditor see
"the token in this response is the one in that log line", while a plain hash prefix of a
low-entropy password could be confirmed by guessing. The key is random per run and never
written anywhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _secrets
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

# Secrets shorter than this are not registered: redacting "1" or "ok" everywhere would destroy
# the evidence without protecting anything.
MIN_SECRET_LENGTH = 6

CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-csrf-token"}
)
COOKIE_HEADERS = frozenset({"cookie", "set-cookie"})
SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "password",
    "csrf_token",
)

_FIELD_ALT = "|".join(SECRET_FIELDS)
# "field": "value" in JSON (escaped quotes inside the value are kept inside the match).
_JSON_FIELD = re.compile(rf'("(?:{_FIELD_ALT})"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.IGNORECASE)
# field=value in forms and query strings.
_FORM_FIELD = re.compile(rf"((?<![A-Za-z0-9_])(?:{_FIELD_ALT})=)([^&\s\"'<>]+)", re.IGNORECASE)
_BEARER = re.compile(r"(\b[Bb]earer\s+)([A-Za-z0-9._~+/=-]{6,})")
_BASIC = re.compile(r"(\b[Bb]asic\s+)([A-Za-z0-9+/=]{6,})")
# A Fernet key is 32 bytes in URL-safe base64: 43 characters and one '='.
_FERNET_KEY = re.compile(r"(?<![A-Za-z0-9_=-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])")
_PEM_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)
_HEADER_LINE = re.compile(
    r"^(?P<name>authorization|proxy-authorization|x-api-key|x-csrf-token|cookie|set-cookie)"
    r"(?P<sep>[ \t]*:[ \t]*)(?P<value>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_COOKIE_PAIR = re.compile(r"(^|;\s*)([^=;\s]+)=([^;]*)")
_COOKIE_ATTRIBUTES = frozenset(
    {"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority"}
)


class Redactor:
    """Thread-safe registry of secrets plus the shape-based patterns."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or _secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}  # form -> tag of the original secret
        self._pattern: re.Pattern[str] | None = None
        self.originals: set[str] = set()

    @property
    def key(self) -> bytes:
        return self._key

    def tag(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"«redacted:{digest.hexdigest()[:8]}»"

    def register(self, value: str | None) -> None:
        """Redact ``value`` and its encoded forms from everything redacted from now on."""
        if not value or len(value) < MIN_SECRET_LENGTH:
            return
        tag = self.tag(value)
        with self._lock:
            if value in self.originals:
                return
            self.originals.add(value)
            for form in _encoded_forms(value):
                if len(form) >= MIN_SECRET_LENGTH:
                    self._values.setdefault(form, tag)
            self._pattern = None

    def register_all(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.register(value)

    def _values_pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                # Longest first, so a secret's base64 form wins over a shorter secret inside it.
                forms = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(f) for f in forms))
            return self._pattern

    # -- text --------------------------------------------------------------------------------
    def text(self, text: str) -> str:
        """Redact free text (HTTP excerpts, logs, tool output)."""
        pattern = self._values_pattern()
        if pattern is not None:
            text = pattern.sub(lambda m: self._values[m.group(0)], text)
        text = _PEM_KEY.sub(lambda m: self.tag(m.group(0)), text)
        text = _HEADER_LINE.sub(self._header_line, text)
        text = _JSON_FIELD.sub(lambda m: m.group(1) + self._tag_once(m.group(2)) + m.group(3), text)
        text = _FORM_FIELD.sub(lambda m: m.group(1) + self._tag_once(m.group(2)), text)
        text = _BEARER.sub(lambda m: m.group(1) + self._tag_once(m.group(2)), text)
        text = _BASIC.sub(lambda m: m.group(1) + self._tag_once(m.group(2)), text)
        return _FERNET_KEY.sub(lambda m: self.tag(m.group(0)), text)

    def _tag_once(self, value: str) -> str:
        # A value that an earlier layer already replaced stays as it is (no tag of a tag).
        if value.startswith("«redacted:") or not value:
            return value
        return self.tag(value)

    def _header_line(self, match: re.Match[str]) -> str:
        name, sep, value = match.group("name"), match.group("sep"), match.group("value")
        return f"{name}{sep}{self.header(name, value)}"

    def header(self, name: str, value: str) -> str:
        """Redact one header value; cookies keep their names and attributes (AUTH-06 needs them)."""
        lowered = name.lower()
        if lowered in COOKIE_HEADERS:
            return _COOKIE_PAIR.sub(self._cookie_pair, value)
        if lowered in CREDENTIAL_HEADERS:
            scheme, _, rest = value.partition(" ")
            if rest and scheme.lower() in {"bearer", "basic", "digest", "token"}:
                return f"{scheme} {self._tag_once(rest.strip())}"
            return self._tag_once(value.strip())
        return self.text(value)

    def _cookie_pair(self, match: re.Match[str]) -> str:
        lead, name, value = match.group(1), match.group(2), match.group(3)
        if name.lower() in _COOKIE_ATTRIBUTES:
            return match.group(0)
        return f"{lead}{name}={self._tag_once(value)}"

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(name, self.header(name, value)) for name, value in headers]

    def data(self, data: object) -> object:
        """Redact a JSON-like structure: secret-named fields entirely, strings as text."""
        if isinstance(data, Mapping):
            out: dict[str, object] = {}
            for key, value in data.items():
                lowered = str(key).lower()
                if lowered in SECRET_FIELDS and isinstance(value, str) and value:
                    out[str(key)] = self._tag_once(value)
                elif lowered in COOKIE_HEADERS | CREDENTIAL_HEADERS and isinstance(value, str):
                    out[str(key)] = self.header(lowered, value)
                else:
                    out[str(key)] = self.data(value)
            return out
        if isinstance(data, list | tuple):
            return [self.data(item) for item in data]
        if isinstance(data, str):
            return self.text(data)
        return data


def _encoded_forms(value: str) -> list[str]:
    raw = value.encode("utf-8", "surrogatepass")
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    b64 = base64.b64encode(raw).decode()
    b64url = base64.urlsafe_b64encode(raw).decode()
    forms |= {b64, b64.rstrip("="), b64url, b64url.rstrip("=")}
    hexed = binascii.hexlify(raw).decode()
    forms |= {hexed, hexed.upper()}
    return sorted(forms)
