"""The per-session state of the pytest plugin: the run folder, the recorder, the redactor and
what the end of the run needs (catalog, profile, signing key, gate policy).

Kept apart from ``plugin.py`` so the hooks read as the run's sequence of events.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.catalog import Catalog, CatalogError, load_catalog
from harness.profile import Profile, ProfileError, load_profile
from harness.recorder import Recorder
from harness.redact import Redactor
from harness.rundir import RunDir
from harness.seal import SigningKey


@dataclass
class PluginState:
    config: pytest.Config
    run: RunDir
    redactor: Redactor
    is_worker: bool
    started: float = field(default_factory=time.time)
    recorder: Recorder = field(init=False)
    key: SigningKey | None = None
    policy: Path | None = None
    summary_line: str | None = None
    gate_lines: list[str] = field(default_factory=list)
    _catalog: Catalog | None = None
    _profile: Profile | None = None
    _profile_loaded: bool = False

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.redactor)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            try:
                self._catalog = load_catalog()
            except CatalogError as exc:
                raise pytest.UsageError(f"harness catalog: {exc}") from None
        return self._catalog

    @property
    def profile(self) -> Profile | None:
        """The profile if it loads; the stack fixtures report a broken profile, not us."""
        if not self._profile_loaded:
            self._profile_loaded = True
            name = self.config.getoption("profile", default=None)
            try:
                self._profile = load_profile(name if isinstance(name, str) else None)
            except (ProfileError, OSError):
                self._profile = None
        return self._profile

    def ensure_out(self) -> Path:
        return self.run.ensure()


STATE_KEY = pytest.StashKey[PluginState]()


def state_of(config: pytest.Config) -> PluginState:
    return config.stash[STATE_KEY]


def run_dir_for(config: pytest.Config) -> RunDir:
    option = config.getoption("harness_out", default=None) or os.environ.get("HARNESS_OUT")
    run_id = config.getoption("harness_run_id", default=None)
    return RunDir.create(
        config.invocation_params.dir / "reports",  # the user's folder, never an installed suite's
        out=Path(option) if option else None,
        run_id=run_id if isinstance(run_id, str) else None,
    )
