"""Profiles: loading, inheritance, one-line errors, and a bad profile starting nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.profile import ProfileError, load_profile, profile_names

CONFIG = """
[profiles.base]
provider = "local"
release = "2"
[profiles.base.env]
A = "1"
[profiles.base.target]
pages = ["/", "/login"]

[profiles.child]
extends = "base"
release = "1"
[profiles.child.env]
B = "2"

[profiles.ext]
provider = "external"
[profiles.ext.target]
base_url = "https://127.0.0.1:9443"

[profiles.ext_no_url]
provider = "external"

[profiles.typo]
provder = "local"

[profiles.bad_value]
provider = "kubernetes"

[profiles.bad_parent]
extends = "nowhere"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "harness.toml"
    path.write_text(CONFIG)
    return path


def test_repository_profiles_load() -> None:
    reference = load_profile("reference")
    assert reference.provider == "local" and reference.stack == "bundled"
    assert reference.env["SESSION_IDLE_TIMEOUT_S"]  # short timeouts for the session controls
    containers = load_profile("reference-containers")
    assert containers.provider == "containers"
    assert containers.auth.users == reference.auth.users  # inherited


def test_extends_merges_tables(config: Path) -> None:
    child = load_profile("child", config)
    assert child.release == "1"
    assert child.env == {"A": "1", "B": "2"}
    assert child.target.pages == ["/", "/login"]
    assert child.name == "child"


def test_environment_names_the_default(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_PROFILE", "ext")
    assert load_profile(None, config).provider == "external"


def test_external_profile(config: Path) -> None:
    profile = load_profile("ext", config)
    assert not profile.manages_stack
    assert profile.target.base_url == "https://127.0.0.1:9443"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nope", "no profile named 'nope' (known: bad_parent, bad_value, base, child, ext"),
        ("ext_no_url", "target.base_url is required"),
        ("typo", "provder"),
        ("bad_value", "provider"),
        ("bad_parent", "extends: no profile named 'nowhere'"),
    ],
)
def test_errors_are_one_line_naming_the_problem(config: Path, name: str, expected: str) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(name, config)
    message = str(caught.value)
    assert "\n" not in message
    assert expected in message


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "harness.toml"
    broken.write_text("[profiles.x\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile("x", broken)
    with pytest.raises(ProfileError, match="no such file"):
        load_profile("x", tmp_path / "missing.toml")
    assert profile_names(tmp_path / "missing.toml") == []


def test_cli_bad_profile_is_one_line_exit_2_and_starts_nothing(config: Path) -> None:
    runs = Path(tempfile.mkdtemp(prefix="harness-profile-test-"))
    env = dict(
        os.environ,
        HARNESS_CONFIG=str(config),
        HARNESS_RUN_ROOT=str(runs),
        HARNESS_STACK_STATE=str(runs / "pointer.json"),
    )
    try:
        for argv in (
            ["up", "--profile", "nope"],
            ["up", "--profile", "typo"],
            ["doctor", "--profile", "nope"],
        ):
            done = subprocess.run(
                [sys.executable, "-m", "harness", *argv],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 2, (argv, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert lines[0].startswith("harness: ")
            assert done.stdout == ""
        assert list(runs.iterdir()) == []  # no run dir: nothing was started
    finally:
        import shutil

        shutil.rmtree(runs, ignore_errors=True)


def test_pytest_bad_profile_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("def test_x(profile):\n    pass\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--profile",
            "nope",
            str(tmp_path / "test_x.py"),
        ],
        env=dict(os.environ, HARNESS_CONFIG=str(config)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no profile named 'nope'" in done.stderr


def test_profile_reference_doc_is_current() -> None:
    """docs/profiles.md is generated from the model: regenerate it when a key changes."""
    from harness.profile_docs import DOC_PATH, render

    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/profiles.md is stale: run `python -m harness.profile_docs`"
    )
