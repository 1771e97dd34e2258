"""The run directory: final redaction pass, digests, manifest and the ``latest`` link."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from harness.evidence import TEXT_EXTENSIONS
from harness.redact import Redactor
from harness.results import write_json_atomic

MANIFEST = "manifest.json"
RESULTS = "results.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def rescan_evidence(out_dir: Path, redactor: Redactor) -> int:
    """Redact every text evidence file again with every secret known at the end of the run.

    Tokens the target issued after a file was written (the mock provider's, another xdist
    worker's registered secrets) are only known now. Binary files (PNG) cannot be redacted
    by text and are left as they are. Returns how many files changed.
    """
    changed = 0
    evidence = out_dir / "evidence"
    if not evidence.is_dir():
        return 0
    for path in sorted(evidence.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in TEXT_EXTENSIONS | {".http"}:
            continue
        original = path.read_text(encoding="utf-8", errors="replace")
        redacted = redactor.text(original)
        if redacted != original:
            path.write_text(redacted, encoding="utf-8")
            changed += 1
    return changed


def evidence_hashes(out_dir: Path) -> dict[str, str]:
    evidence = out_dir / "evidence"
    if not evidence.is_dir():
        return {}
    return {
        path.relative_to(out_dir).as_posix(): sha256_file(path)
        for path in sorted(evidence.rglob("*"))
        if path.is_file()
    }


def write_manifest(out_dir: Path, run_id: str) -> Path:
    """SHA-256 of every file of the run, so an auditor can tell nothing was edited afterwards."""
    files: list[dict[str, Any]] = []
    for path in sorted(out_dir.rglob("*")):
        if not path.is_file() or path.name == MANIFEST or path.name.startswith("."):
            continue
        files.append(
            {
                "path": path.relative_to(out_dir).as_posix(),
                "sha256": sha256_file(path),
                "bytes": path.stat().st_size,
            }
        )
    target = out_dir / MANIFEST
    write_json_atomic(target, {"run_id": run_id, "algorithm": "sha256", "files": files})
    return target


def verify_manifest(out_dir: Path) -> list[str]:
    """Paths whose digest no longer matches (empty when the run directory is intact)."""
    import json

    manifest = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    bad = []
    for entry in manifest["files"]:
        path = out_dir / entry["path"]
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            bad.append(entry["path"])
    return bad


def update_latest(out_dir: Path, reports_root: Path) -> Path | None:
    """Point ``<reports_root>/latest`` at this run, if the run lives directly under that root.

    The link is relative (the reports folder can be moved or archived) and replaced atomically.
    Runs written elsewhere (``--harness-out /tmp/x``) leave ``latest`` alone.
    """
    try:
        if out_dir.resolve().parent != reports_root.resolve():
            return None
    except OSError:
        return None
    link = reports_root / "latest"
    tmp = reports_root / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(out_dir.name, tmp)
    os.replace(tmp, link)
    return link
