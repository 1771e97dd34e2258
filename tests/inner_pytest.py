"""An inner pytest run of the harness plugin through pytester: its arguments and its profile."""

from __future__ import annotations

import pytest

# The stack plugin is not under test in an inner run (it must not start a stack), and the heavy
# third-party plugins only slow down its start (and the xdist workers').
NOT_NEEDED = [
    "harness_stack",
    "cacheprovider",
    "schemathesis",
    "locust",
    "hypothesispytest",
    "anyio",
    "subtests",
    # pytest-playwright opens a soft-assertion scope per test; nested in this
    # run's own it refuses to start.
    "playwright",
]
BASE_ARGS = [arg for name in NOT_NEEDED for arg in ("-p", f"no:{name}")] + ["-q"]

# The reference profile as an external target on a port where nothing listens (9, discard):
# the inner runs judge only what their tests report, and no stack is started for them.
EXTERNAL_PROFILE = """
[profiles.reference]
provider = "external"
[profiles.reference.target]
base_url = "http://127.0.0.1:9"
"""


def use_profile(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    """Point the inner run at ``profile`` (a harness.toml text) and clear what the outer
    environment would otherwise decide for it: where it writes, and faults left switched on."""
    config = pytester.path / "harness.toml"
    config.write_text(profile)
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    monkeypatch.delenv("HARNESS_OUT", raising=False)
    monkeypatch.delenv("BRIDGE_FAULTS", raising=False)
