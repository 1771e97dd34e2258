"""Which profile `locust -f load/` follows: HARNESS_PROFILE, else harness.toml's default."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load.plan import profile_from_env

CONFIG = """
[profiles.reference]
description = "the default profile"

[profiles.small]
description = "another"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "harness.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("HARNESS_CONFIG", str(path))
    monkeypatch.delenv("HARNESS_PROFILE", raising=False)
    return path


def test_without_harness_profile_the_default_profile_is_followed(config: Path) -> None:
    # As every harness command: the done-when run `locust -f load/ --host URL` logs in with it.
    profile = profile_from_env()
    assert profile is not None and profile.name == "reference"


def test_harness_profile_names_another(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_PROFILE", "small")
    profile = profile_from_env()
    assert profile is not None and profile.name == "small"


@pytest.mark.parametrize("value", ["none", "anonymous", "NONE"])
def test_none_asks_for_anonymous_journeys(
    config: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HARNESS_PROFILE", value)
    assert profile_from_env() is None


def test_no_harness_toml_means_anonymous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("HARNESS_PROFILE", raising=False)
    assert profile_from_env() is None
