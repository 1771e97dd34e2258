"""What the Locust process knows once its init event has run: the profile and the plan."""

from __future__ import annotations

from dataclasses import dataclass

from harness.load.plan import Plan
from harness.profile import Profile


@dataclass
class LoadState:
    profile: Profile | None = None
    plan: Plan | None = None
    failed: str | None = None


STATE = LoadState()
