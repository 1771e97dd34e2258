"""The target's files as the checks read them: the profile's paths, with the file variants of
switched-on seeded faults laid over them.

A seeded fault that lives in files (registry ``services`` ``source`` or ``deploy``) is a folder
of replacement files under the profile's ``supply_chain.variants.<kind>.variants``, one
sub-folder per fault. When the stack's state says such a fault is on, the variant's root is
copied to a scratch folder, the variant is laid over the copy, and every path the profile names
under that root is redirected into the copy. The real tree is never written, so switching a file
fault on or off needs no restart and cannot leave a variant behind. A variant's own
``README.md`` describes it and is not laid over.
"""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Sequence
from pathlib import Path

from harness.profile.supply_chain_section import SupplyChainSettings

_NOT_LAID = {"README.md"}
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".git"}


class FileView:
    """Resolves profile paths (relative to ``base``, the config file's folder)."""

    def __init__(
        self,
        base: Path,
        settings: SupplyChainSettings,
        faults: Sequence[str],
        scratch: Path,
    ) -> None:
        self.base = base
        self.settings = settings
        # (real root, overlaid copy) for each variant root a switched-on fault changes.
        self._redirects: list[tuple[Path, Path]] = []
        self.overlaid: list[str] = []
        for kind, where in sorted(settings.variants.items()):
            root = self._absolute(where.root)
            folder = self._absolute(where.variants)
            active = [f for f in faults if (folder / f).is_dir()]
            if not active:
                continue
            copy = scratch / f"overlay-{kind}"
            _copy_tree(root, copy, skip=folder)
            for fault in active:
                _lay_over(folder / fault, copy)
                self.overlaid.append(f"{fault} ({kind}) over {where.root}")
            self._redirects.append((root, copy))

    def _absolute(self, path: str) -> Path:
        candidate = Path(path)
        return (candidate if candidate.is_absolute() else self.base / candidate).resolve()

    def path(self, path: str) -> Path:
        """Where a profile path is read: in an overlaid copy when a variant covers it."""
        real = self._absolute(path)
        for root, copy in self._redirects:
            if real == root or root in real.parents:
                return copy / real.relative_to(root)
        return real

    def files(self, paths: Sequence[str], patterns: Sequence[str]) -> list[tuple[str, Path]]:
        """(profile-relative name, readable path) of each file a path names, or of each file
        matching ``patterns`` in a folder it names, sorted by name."""
        found: dict[str, Path] = {}
        for entry in paths:
            where = self.path(entry)
            if where.is_file():
                found[entry] = where
            elif where.is_dir():
                for item in sorted(where.rglob("*")):
                    if item.is_file() and any(fnmatch.fnmatch(item.name, p) for p in patterns):
                        found[f"{entry.rstrip('/')}/{item.relative_to(where).as_posix()}"] = item
        return sorted(found.items())

    def missing(self, paths: Sequence[str]) -> list[str]:
        return [p for p in paths if not self.path(p).exists()]


def excluded(relative: str, patterns: Sequence[str]) -> bool:
    """Whether a path under the source tree matches an exclude glob (or is inside a folder
    that does)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern) for pattern in patterns for prefix in prefixes)


def stage_source(source: Path, exclude: Sequence[str], into: Path) -> list[str]:
    """Copy the source tree minus the excluded paths into ``into``; the files copied.

    Scanners then read one plain folder, and every tool sees the same files whatever its own
    exclusion syntax is."""
    copied: list[str] = []
    for item in sorted(source.rglob("*")):
        relative = item.relative_to(source).as_posix()
        if not item.is_file() or _SKIP_DIRS & set(relative.split("/")):
            continue
        if excluded(relative, exclude):
            continue
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item, target)
        copied.append(relative)
    return copied


def _copy_tree(root: Path, into: Path, *, skip: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).resolve()
        return {n for n in names if n in _SKIP_DIRS or (here / n).resolve() == skip}

    shutil.copytree(root, into, ignore=ignore, dirs_exist_ok=True)


def _lay_over(variant: Path, copy: Path) -> None:
    for item in sorted(variant.rglob("*")):
        relative = item.relative_to(variant)
        if not item.is_file() or relative.as_posix() in _NOT_LAID:
            continue
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item, target)
