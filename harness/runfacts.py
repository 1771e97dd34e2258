"""What a run records about itself besides its tests: target, profile, git commit, faults."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.catalog import Catalog
from harness.profile import Profile, ProfileError


@dataclass
class RunFacts:
    """The session's facts the pipeline writes into results.json's ``run``."""

    catalog: Catalog
    started: float
    strict: bool = False
    target: str | None = None
    profile: str | None = None
    release: str | None = None
    git_sha: str | None = None
    pytest_args: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)
    safety: list[str] = field(default_factory=list)
    only: list[str] | None = None  # the controls a ``--controls`` run chose

    @classmethod
    def gather(
        cls,
        *,
        catalog: Catalog,
        profile: Profile | None,
        started: float,
        strict: bool,
        root: Path,
        pytest_args: list[str],
        stack_state: str | None = None,
        only: list[str] | None = None,
    ) -> RunFacts:
        return cls(
            catalog=catalog,
            started=started,
            strict=strict,
            target=target_name(profile),
            profile=profile.name if profile else None,
            release=profile.release if profile else None,
            git_sha=git_sha(root),
            pytest_args=pytest_args,
            faults=faults(profile, stack_state),
            not_applicable=dict(profile.not_applicable) if profile else {},
            safety=safety_lines(profile),
            only=only,
        )


def target_name(profile: Profile | None) -> str | None:
    if profile is None:
        return None
    if profile.target.base_url:
        return profile.target.base_url
    return f"{profile.provider} stack {profile.stack!r} (profile {profile.name})"


def safety_lines(profile: Profile | None) -> list[str]:
    """The mode and what it leaves out; a broken scope entry is reported by the target fixture."""
    if profile is None:
        return []
    from harness.safety import SafetyPolicy

    try:
        return SafetyPolicy.from_profile(profile).describe()
    except ProfileError:
        return [f"safety = {profile.safety_mode}"]


def faults(profile: Profile | None, stack_state: str | None = None) -> list[str]:
    """The faults the stack under test runs with: its state file's, else the profile's.

    An efficacy run switches faults on a running stack and attaches to it by its state file,
    so the state (not the profile) is what the run really tested.
    """
    if stack_state:
        from harness.stack.base import StackError
        from harness.stack.state import read_state

        try:
            return list(read_state(stack_state).faults)
        except StackError:
            pass  # the stack fixture reports an unreadable state file; the profile is a guess
    return list(profile.faults) if profile else []


def git_sha(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and len(sha) == 40 else None
