"""Journey weights from the profile, read when the ``load/`` files are imported (Locust reads
a user class's ``weight`` before any event fires)."""

from __future__ import annotations

import functools
from typing import Literal

from harness.load.plan import profile_from_env
from harness.profile import LoadSettings, ProfileError


@functools.cache
def _settings() -> LoadSettings:
    try:
        profile = profile_from_env()
    except ProfileError:
        return LoadSettings()  # the init event reports the profile error and stops the run
    return profile.load if profile else LoadSettings()


def weight(journey: Literal["browse", "api", "login"]) -> int:
    settings = _settings()
    return {
        "browse": settings.browse_weight,
        "api": settings.api_weight,
        "login": settings.login_weight,
    }[journey]
