"""What every supply-chain check is given: the profile's section, the files as they are read
(variants of switched-on file faults laid over), the scanners and a scratch folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.profile import Profile
from harness.supply_chain.files import FileView, stage_source
from harness.supply_chain.tools import Scanners
from harness.verdicts import NotApplicable


class SupplyChain:
    def __init__(
        self,
        profile: Profile,
        *,
        base: Path,
        scratch: Path,
        faults: Sequence[str] = (),
        stack_python: str | None = None,
    ) -> None:
        self.profile = profile
        self.settings = profile.supply_chain
        self.base = base
        self.scratch = scratch
        self.view = FileView(base, self.settings, faults, scratch)
        self.scanners = Scanners(profile.scope.allow, timeout_s=self.settings.tool_timeout_s)
        self.stack_python = stack_python

    def work(self, name: str) -> Path:
        folder = self.scratch / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def staged_source(self, control: str) -> tuple[Path, list[str]]:
        """A copy of the source tree minus ``exclude`` (and the files in it); not_applicable
        when the profile names no source tree."""
        source = self.settings.source
        if source is None:
            raise NotApplicable(
                f"{control}: the profile names no source tree (supply_chain.source)"
            )
        real = self.view.path(source)
        if not real.is_dir():
            raise NotApplicable(f"{control}: the source tree {source} is not a folder")
        into = self.work(f"source-{control}")
        return into, stage_source(real, self.settings.exclude, into)

    def note(self) -> str:
        """One line for evidence: which file variants are laid over what."""
        if not self.view.overlaid:
            return "files read as they are (no file variant switched on)"
        return "file variants laid over: " + "; ".join(self.view.overlaid)
