"""The run directory: the one owner of a run's files, its id and the ``latest`` link.

Everything a run writes lives in one folder: ``results.json``, ``evidence/``, the reports and
the seal (``manifest.json``, ``manifest.sig``, ``manifest.pub``). Only this module names run ids
and moves ``latest``; only ``harness.seal`` writes the manifest.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.evidence import TEXT_EXTENSIONS
from harness.redact import Redactor
from harness.results import RESULTS_NAME, Results, ResultsError, load_results, save_results

LATEST = "latest"
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def new_run_id() -> str:
    """``20261204T151000Z-3fa9c2``: sorts by time, unique across parallel runs."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def is_run_id(text: str) -> bool:
    return bool(_RUN_ID.match(text))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunDir:
    """One run's folder and id. ``reports_root`` is where ``latest`` lives."""

    path: Path
    run_id: str
    reports_root: Path

    @classmethod
    def create(
        cls, reports_root: Path, out: Path | None = None, run_id: str | None = None
    ) -> RunDir:
        """A new run: ``out`` when given, else ``<reports_root>/<run id>``."""
        run_id = run_id or new_run_id()
        path = (out or reports_root / run_id).resolve()
        return cls(path=path, run_id=run_id, reports_root=reports_root.resolve())

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run folder (re-render, gate, verify): id from its results.json."""
        path = Path(path).resolve()
        results = load_results(path / RESULTS_NAME)
        return cls(path=path, run_id=results.run.id, reports_root=path.parent)

    # -- files -------------------------------------------------------------------------------
    @property
    def results_path(self) -> Path:
        return self.path / RESULTS_NAME

    def ensure(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def load_results(self) -> Results:
        return load_results(self.results_path)

    def save_results(self, results: Results) -> Path:
        self.ensure()
        save_results(results, self.results_path)
        return self.results_path

    def files(self) -> list[Path]:
        """Every file in the run folder, sorted, as paths relative to it."""
        if not self.path.is_dir():
            return []
        return sorted(p.relative_to(self.path) for p in self.path.rglob("*") if p.is_file())

    def rescan_evidence(self, redactor: Redactor) -> int:
        """Redact every text evidence file again with every secret known at the end of the run.

        Tokens the target issued after a file was written (the mock provider's, another xdist
        worker's registered secrets) are only known now. Binary files (PNG) cannot be redacted
        by text and are left as they are. Returns how many files changed.
        """
        changed = 0
        evidence = self.path / "evidence"
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

    def evidence_hashes(self) -> dict[str, str]:
        evidence = self.path / "evidence"
        if not evidence.is_dir():
            return {}
        return {
            path.relative_to(self.path).as_posix(): sha256_file(path)
            for path in sorted(evidence.rglob("*"))
            if path.is_file()
        }

    # -- neighbours ----------------------------------------------------------------------------
    def previous_results(self) -> Results | None:
        """The run ``latest`` points at, when it is another run (the change list's baseline)."""
        latest = self.reports_root / LATEST / RESULTS_NAME
        try:
            if not latest.is_file() or latest.resolve().parent == self.path:
                return None
            return load_results(latest)
        except (ResultsError, OSError):
            return None

    def sibling_results(self, run_id: str) -> Results | None:
        """Another run of the same reports folder, by id."""
        path = self.path.parent / run_id / RESULTS_NAME
        try:
            return load_results(path) if path.is_file() else None
        except ResultsError:
            return None

    def update_latest(self) -> Path | None:
        """Point ``<reports_root>/latest`` at this run, if the run lives directly under that root.

        The link is relative (the reports folder can be moved or archived) and replaced
        atomically. Runs written elsewhere (``--harness-out /tmp/x``) leave ``latest`` alone.
        """
        if self.path.parent != self.reports_root:
            return None
        link = self.reports_root / LATEST
        tmp = self.reports_root / f".{LATEST}.{os.getpid()}"
        try:
            tmp.unlink(missing_ok=True)
            os.symlink(self.path.name, tmp)
            os.replace(tmp, link)
        except OSError:
            tmp.unlink(missing_ok=True)
            return None
        return link
