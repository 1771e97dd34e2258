"""Sealing a run folder: a signed manifest of every file, and its verification.

``manifest.json`` lists the SHA-256 of every file in the run folder except the manifest and its
signature; ``manifest.sig`` is the Ed25519 signature of ``manifest.json``'s exact bytes (base64);
``manifest.pub`` is the public key (PEM). The key is the user's (``--signing-key`` /
``HARNESS_SIGNING_KEY``: a PEM private key, as a path or the PEM text) or one generated for the
run and thrown away after signing. A signature checked only against ``manifest.pub`` proves the
folder is as sealed by whoever held that key; pass ``--public-key`` (or compare the fingerprint
with the one the run printed) to prove *who* sealed it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel

from harness.rundir import RunDir, sha256_file

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "manifest.pub"
ALGORITHM = "ed25519"
KEY_ENV = "HARNESS_SIGNING_KEY"
_UNSIGNED = frozenset({MANIFEST, SIGNATURE})


class SealError(Exception):
    """The seal cannot be made or read (bad key, no manifest); the message is one line."""


class ManifestEntry(BaseModel):
    path: str
    sha256: str
    bytes: int


class Manifest(BaseModel):
    run_id: str
    algorithm: str = "sha256"
    signature: str = ALGORITHM
    public_key_fingerprint: str
    files: list[ManifestEntry]


class SigningKey:
    """An Ed25519 private key and what the report shows of it."""

    def __init__(self, key: Ed25519PrivateKey, *, generated: bool) -> None:
        self.key = key
        self.generated = generated

    @property
    def public(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def public_pem(self) -> str:
        return public_pem(self.public)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:<hex>`` of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def signing_key(source: str | Path | None = None) -> SigningKey:
    """The key from ``source`` (a PEM path or PEM text), else ``$HARNESS_SIGNING_KEY``, else a
    new key for this run."""
    value = str(source) if source else os.environ.get(KEY_ENV, "")
    if not value.strip():
        return SigningKey(Ed25519PrivateKey.generate(), generated=True)
    where = "the signing key"
    if value.lstrip().startswith("-----BEGIN"):
        data = value.encode()
    else:
        where = value
        try:
            data = Path(value).read_bytes()
        except OSError as exc:
            raise SealError(f"signing key {value}: cannot read: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SealError(
            f"{where}: not an unencrypted PEM private key ({exc}); make one with "
            "`openssl genpkey -algorithm ed25519 -out key.pem`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SealError(f"{where}: not an Ed25519 key (openssl genpkey -algorithm ed25519)")
    return SigningKey(key, generated=False)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SealError(f"public key {path}: cannot read: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SealError(f"public key {path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SealError(f"public key {path}: not an Ed25519 key")
    return key


def seal(run: RunDir, key: SigningKey) -> Manifest:
    """Write manifest.pub, manifest.json (every other file's digest) and manifest.sig.

    The last step of every pipeline pass: anything written after it breaks the seal.
    """
    run.ensure()
    (run.path / PUBLIC_KEY).write_text(key.public_pem, encoding="ascii")
    (run.path / SIGNATURE).unlink(missing_ok=True)
    entries = [
        ManifestEntry(
            path=rel.as_posix(),
            sha256=sha256_file(run.path / rel),
            bytes=(run.path / rel).stat().st_size,
        )
        for rel in run.files()
        if rel.as_posix() not in _UNSIGNED
    ]
    manifest = Manifest(run_id=run.run_id, public_key_fingerprint=key.fingerprint, files=entries)
    body = (json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n").encode()
    (run.path / MANIFEST).write_bytes(body)
    signature = base64.b64encode(key.key.sign(body)).decode("ascii")
    (run.path / SIGNATURE).write_text(signature + "\n", encoding="ascii")
    return manifest


@dataclass
class Verification:
    """What ``verify`` found; ``ok`` only when the signature holds and every file matches."""

    fingerprint: str = ""
    key_source: str = ""
    signature_ok: bool = False
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return self.signature_ok and not (self.changed or self.missing or self.extra)


def verify(folder: Path, public_key: Path | None = None) -> Verification:
    """Check the signature of manifest.json and every file's digest.

    Raises SealError when there is nothing to check (no manifest, no signature, no key).
    """
    folder = Path(folder)
    manifest_path, sig_path = folder / MANIFEST, folder / SIGNATURE
    if not manifest_path.is_file():
        raise SealError(f"{folder}: no {MANIFEST} (not a sealed run folder)")
    if not sig_path.is_file():
        raise SealError(f"{folder}: no {SIGNATURE} (the run was never signed)")
    key: Ed25519PublicKey | None = None
    if public_key is not None:
        key, source = load_public_key(public_key), str(public_key)
    elif (folder / PUBLIC_KEY).is_file():
        source = f"{PUBLIC_KEY} in the run folder"
        try:
            key = load_public_key(folder / PUBLIC_KEY)
        except SealError:
            key = None  # a damaged key file: the signature cannot hold, the digests still count
    else:
        raise SealError(f"{folder}: no {PUBLIC_KEY}; pass --public-key")
    body = manifest_path.read_bytes()
    result = Verification(
        fingerprint=fingerprint(key) if key else "(unreadable key)", key_source=source
    )
    if key is not None:
        try:
            key.verify(base64.b64decode(sig_path.read_text(encoding="ascii").strip()), body)
            result.signature_ok = True
        except (InvalidSignature, ValueError, UnicodeDecodeError):
            result.signature_ok = False
    try:
        manifest = Manifest.model_validate_json(body)
    except ValueError:
        # A manifest that does not parse cannot vouch for any file.
        result.changed.append(MANIFEST)
        return result
    listed = {entry.path: entry for entry in manifest.files}
    present = {rel.as_posix() for rel in RunDir(folder, manifest.run_id, folder).files()}
    for path, entry in sorted(listed.items()):
        target = folder / path
        if path not in present:
            result.missing.append(path)
        elif sha256_file(target) != entry.sha256:
            result.changed.append(path)
        else:
            result.checked += 1
    result.extra = sorted(present - set(listed) - _UNSIGNED)
    return result
