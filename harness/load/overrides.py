"""``harness load`` options reach the suite's load run as environment variables."""

from __future__ import annotations

import os

ENV = {
    "users": "HARNESS_LOAD_USERS",
    "spawn_rate": "HARNESS_LOAD_SPAWN_RATE",
    "duration_s": "HARNESS_LOAD_DURATION_S",
    "workers": "HARNESS_LOAD_WORKERS",
}


def from_env() -> dict[str, float | int | None]:
    """The overrides set in this process's environment (values are checked by LoadOptions)."""
    found: dict[str, float | int | None] = {}
    for key, name in ENV.items():
        raw = os.environ.get(name)
        if raw:
            found[key] = float(raw) if key in ("spawn_rate", "duration_s") else int(raw)
    return found
