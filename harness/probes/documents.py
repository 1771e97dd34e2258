"""The target's files as this run sees them: through the seeded file variants that are on.

Checks that read files (operational documents, manifests) never open a path directly; they ask
a ``FileView``, which answers the overlay copy of a file when a variant replaces it. Overlays
come from two places, both mapping a base folder to an overlay folder that mirrors it:

- the profile's ``roadmap.variants`` (``base folder -> folder of <fault>/ overlays``) joined with
  the faults the stack runs with now (``Heals.baseline()``, the stack's state file), so a fault
  switched on by ``harness efficacy`` is seen by the very next read;
- ``HARNESS_FILE_VARIANTS``: ``base=overlay`` pairs separated by ``os.pathsep``, for a runner
  that overlays files itself (relative paths are taken from harness.toml's folder).

Without either, a path is the file itself. Paths are relative to harness.toml's folder.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from harness.profile import Profile, find_config
from harness.stack.base import Heals

VARIANTS_ENV = "HARNESS_FILE_VARIANTS"


@dataclass(frozen=True)
class Overlay:
    base: Path
    folder: Path
    origin: str  # "fault NAME" or the environment variable, for evidence


@dataclass
class FileView:
    root: Path
    overlays: list[Overlay] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        """The file the run must read for ``relative`` (an overlay's copy when one exists)."""
        wanted = (self.root / relative).resolve()
        for overlay in self.overlays:
            base = overlay.base.resolve()
            if wanted.is_relative_to(base):
                candidate = overlay.folder / wanted.relative_to(base)
                if candidate.exists():
                    return candidate
        return wanted

    def origin(self, relative: str) -> str | None:
        """Which overlay replaced ``relative``, or None for the file itself."""
        wanted = self.path(relative)
        for overlay in self.overlays:
            if wanted.is_relative_to(overlay.folder.resolve()):
                return overlay.origin
        return None

    def describe(self) -> list[str]:
        return [f"{o.base} <- {o.folder} ({o.origin})" for o in self.overlays]


def env_overlays(root: Path, value: str | None) -> list[Overlay]:
    overlays = []
    for pair in (value or "").split(os.pathsep):
        base, sep, folder = pair.partition("=")
        if sep and base and folder:
            overlays.append(Overlay(root / base, root / folder, VARIANTS_ENV))
    return overlays


def fault_overlays(root: Path, variants: dict[str, str], faults: list[str]) -> list[Overlay]:
    return [
        Overlay(root / base, root / folder / fault, f"fault {fault}")
        for base, folder in variants.items()
        for fault in faults
        if (root / folder / fault).is_dir()
    ]


def active_faults(stack: object) -> list[str]:
    """The faults the stack runs with now (none known for a stack the harness does not run)."""
    return list(stack.baseline()[1]) if isinstance(stack, Heals) else []


def file_view(profile: Profile, stack: object, root: Path | None = None) -> FileView:
    root = root or find_config().parent
    overlays = env_overlays(root, os.environ.get(VARIANTS_ENV))
    overlays += fault_overlays(root, profile.roadmap.variants, active_faults(stack))
    return FileView(root=root, overlays=overlays)


class Changed(BaseModel):
    """When a file last changed, and how that was found out."""

    path: str
    when: float | None  # epoch seconds; None: the file does not exist
    how: str  # "git commit", "file time (uncommitted change)", "file time (no git)"


def last_change(path: Path) -> Changed:
    """The last commit that touched ``path`` when it is committed unchanged, else its mtime (a
    checkout sets every file's mtime to the checkout's time, so mtime alone says nothing)."""
    if not path.exists():
        return Changed(path=str(path), when=None, how="missing")
    mtime = path.stat().st_mtime
    folder, name = str(path.parent), path.name
    try:
        dirty = _git(folder, "status", "--porcelain", "--", name)
        stamp = _git(folder, "log", "-1", "--format=%ct", "--", name)
    except (OSError, subprocess.SubprocessError):
        return Changed(path=str(path), when=mtime, how="file time (no git)")
    if dirty is None or stamp is None or not stamp:
        return Changed(path=str(path), when=mtime, how="file time (not in a git work tree)")
    if dirty:
        return Changed(path=str(path), when=mtime, how="file time (uncommitted change)")
    return Changed(path=str(path), when=float(stamp), how="git commit")


def _git(folder: str, *args: str) -> str | None:
    """git's stdout in ``folder`` (local only: no command here reaches a network)."""
    done = subprocess.run(
        ["git", "-C", folder, *args], capture_output=True, text=True, timeout=20, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None
