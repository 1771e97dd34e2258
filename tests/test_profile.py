"""Profiles: loading, inheritance, one-line errors, and a bad profile starting nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

from harness.profile import ProfileError, load_profile, profile_names
from harness.profile.render import to_json, to_toml
from harness.verdicts import NotApplicable

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

[profiles.grandchild]
extends = "child"
[profiles.grandchild.target]
base_url = "http://127.0.0.1:9000"

[profiles.ext_child]
extends = "ext"
release = "3"

[profiles.ext_grandchild]
extends = "ext_child"

[profiles.loop_a]
extends = "loop_b"

[profiles.loop_b]
extends = "loop_a"

[profiles.deep_bad_parent]
extends = "bad_parent"

[profiles.empty_string]
[profiles.empty_string.auth]
logout_path = ""

[profiles.absent]
[profiles.absent.target]
metrics_path = false
[profiles.absent.auth]
me_path = false
csrf_header = false

[profiles.oauth_no_table]
[profiles.oauth_no_table.auth]
flow = "oauth-pkce"

[profiles.recorders_no_route]
[profiles.recorders_no_route.observability]
outbound_services = ["mock"]
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


def test_extends_chains_of_any_depth(config: Path) -> None:
    grandchild = load_profile("grandchild", config)
    assert grandchild.release == "1" and grandchild.env == {"A": "1", "B": "2"}
    assert grandchild.target.pages == ["/", "/login"]  # from the root, through a child
    assert grandchild.target.base_url == "http://127.0.0.1:9000"
    # The two-level chain of the issue: provider = "external" survives two levels.
    deep = load_profile("ext_grandchild", config)
    assert deep.provider == "external" and deep.release == "3"
    assert deep.target.base_url == "https://127.0.0.1:9443"
    assert deep.name == "ext_grandchild"


def test_false_is_absent_and_defaults_are_not_the_reference_app(config: Path) -> None:
    absent = load_profile("absent", config)
    assert absent.target.metrics_path is None
    assert absent.auth.me_path is None and absent.auth.csrf_header is None
    bare = load_profile("base", config)
    assert bare.auth.session_cookie is None and bare.auth.oauth is None
    assert bare.auth.api_login_path is None and bare.auth.logout_path is None
    assert bare.datastores.database_service is None and bare.datastores.redis_service is None
    assert bare.observability.outbound_services == []
    dumped = json.dumps(bare.model_dump())
    for reference_only in ("bridge", "/api/v1", "/_mock", "spotify", "slskd", "postgres"):
        assert reference_only not in dumped


def test_a_check_needing_an_absent_key_is_not_applicable_naming_it(config: Path) -> None:
    auth = load_profile("absent", config).auth
    with pytest.raises(NotApplicable, match=r"set auth\.me_path in the profile"):
        auth.require_me_path()
    with pytest.raises(NotApplicable, match=r"set \[auth\.oauth\]"):
        auth.require_oauth()


def test_show_masks_secrets_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "harness.toml"
    path.write_text(
        """
[profiles.p]
provider = "external"
[profiles.p.env]
API_SECRET = "s3cret"
PLAIN = "visible"
[profiles.p.target]
base_url = "http://127.0.0.1:8000"
[profiles.p.auth]
users = [{ name = "u", password = "pw-123", token = "tok-456" }]
[profiles.p.datastores]
database_url = "postgresql://app:dbpass@127.0.0.1:5432/app"
[profiles.p.dast]
zap_api_key = "zapkey"
"""
    )
    profile = load_profile("p", path)
    text = to_toml(profile)
    for secret in ("s3cret", "pw-123", "tok-456", "dbpass", "zapkey"):
        assert secret not in text and secret not in to_json(profile)
    assert "visible" in text and "postgresql://app:***@127.0.0.1:5432/app" in text
    shown = tomllib.loads(text)["profiles"]["p"]
    assert shown["target"]["metrics_path"] == "/metrics"
    assert shown["auth"]["me_path"] is False  # absent prints as its documented spelling


def test_reference_profile_names_every_reference_value() -> None:
    """The reference stack resolves as it did when these were the model's defaults."""
    reference = load_profile("reference")
    auth = reference.auth
    assert (auth.api_login_path, auth.logout_path, auth.me_path) == (
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
    )
    assert (auth.session_cookie, auth.csrf_header) == ("bridge_session", "X-CSRF-Token")
    oauth = auth.require_oauth()
    assert (oauth.start_path, oauth.callback_path) == (
        "/auth/spotify/login",
        "/auth/spotify/callback",
    )
    assert (oauth.provider_service, oauth.tokens_path, oauth.requests_path) == (
        "spotify_mock",
        "/_mock/tokens",
        "/_mock/requests",
    )
    obs = reference.observability
    assert obs.outbound_services == ["spotify_mock", "slskd_mock"]
    assert obs.outbound_requests_path == "/_mock/requests"
    assert (reference.datastores.database_service, reference.datastores.redis_service) == (
        "postgres",
        "redis",
    )
    assert load_profile("reference-containers").auth == auth


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
        ("nope", "no profile named 'nope' (known: absent, bad_parent, bad_value, base, child,"),
        ("ext_no_url", "target.base_url is required"),
        ("typo", "provder"),
        ("bad_value", "provider"),
        ("bad_parent", "extends: no profile named 'nowhere'"),
        (
            "deep_bad_parent",
            "no profile named 'nowhere' (deep_bad_parent -> bad_parent -> nowhere)",
        ),
        ("loop_a", "extends forms a cycle: loop_a -> loop_b -> loop_a"),
        (
            "empty_string",
            "auth.logout_path: an empty string is not a value; write logout_path = false",
        ),
        ("oauth_no_table", "auth: flow = 'oauth-pkce' needs an [auth.oauth] table"),
        ("recorders_no_route", "outbound_services needs outbound_requests_path"),
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
            ["profile", "show", "nope"],
            ["profile", "show", "loop_a"],
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
