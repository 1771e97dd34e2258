"""The external provider: URLs from the profile, lifecycle not applicable (through pytest too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.profile import DataStoreSettings, LogSettings, Profile, TargetSettings
from harness.stack import open_stack
from harness.stack.base import LifecycleUnsupported
from harness.stack.external import ExternalStack


def _profile(tmp_path: Path) -> Profile:
    log = tmp_path / "app.jsonl"
    log.write_text("one\ntwo\n")
    return Profile(
        name="staging",
        provider="external",
        target=TargetSettings(base_url="https://127.0.0.1:9/"),
        logs=LogSettings(source="file", path=str(log)),
        datastores=DataStoreSettings(database_url="postgresql://u@127.0.0.1:1/db"),
    )


def test_urls_and_logs_come_from_the_profile(tmp_path: Path) -> None:
    stack = open_stack(_profile(tmp_path))
    assert isinstance(stack, ExternalStack)
    stack.up()
    assert stack.url("app") == "https://127.0.0.1:9"
    assert stack.url("postgres") == "postgresql://u@127.0.0.1:1/db"
    assert stack.logs("app") == ["one", "two"]
    assert stack.logs("app", stack.mark("app") - 1) == ["two"]
    stack.down()


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.stop("app"),
        lambda s: s.start("redis"),
        lambda s: s.restart("app"),
        lambda s: s.exec("app", ["true"]),
        lambda s: s.swap("app", "1"),
        lambda s: s.apply_faults(["no_csp"]),
        lambda s: s.url("redis"),
    ],
)
def test_lifecycle_is_unsupported_with_a_reason(tmp_path: Path, operation: object) -> None:
    stack = open_stack(_profile(tmp_path))
    with pytest.raises(LifecycleUnsupported, match="external deployment"):
        operation(stack)  # type: ignore[operator]


def test_plugin_reports_lifecycle_unsupported_as_not_applicable(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text(
        '[profiles.staging]\nprovider = "external"\n'
        '[profiles.staging.target]\nbase_url = "https://127.0.0.1:9"\n'
    )
    (tmp_path / "test_drill.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.disruptive\n"
        "def test_restart(stack):\n"
        "    stack.restart('app')\n\n"
        "def test_target(target):\n"
        "    assert target.base_url == 'https://127.0.0.1:9'\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:harness",
            "--profile",
            "staging",
            "test_drill.py",
        ],
        cwd=tmp_path,
        env=dict(os.environ, HARNESS_CONFIG=str(tmp_path / "harness.toml")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout
    assert "not_applicable: profile 'staging' targets an external deployment" in done.stdout
