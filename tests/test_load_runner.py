"""How the harness starts Locust: the command line, the shape's overrides, the source addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load import overrides
from harness.load.runner import FIXED_ARGS, LoadOptions, _argv, locustfiles
from harness.profile import Profile
from harness.target import Target


def test_workers_run_as_locust_processes_and_every_output_is_written(tmp_path: Path) -> None:
    options = LoadOptions(users=10, spawn_rate=5, duration_s=12, workers=2)
    argv = _argv("https://127.0.0.1:8443", tmp_path, options)
    assert argv[argv.index("-f") + 1] == str(locustfiles())
    assert argv[argv.index("--processes") + 1] == "2"
    # A master port of the run's own: two runs on one machine must not share Locust's 5557.
    port = argv[argv.index("--master-bind-port") + 1]
    assert argv[argv.index("--master-port") + 1] == port and port != "5557"
    assert argv[argv.index("--master-bind-host") + 1] == "127.0.0.1"
    for flag in ("--headless", "--csv", "--html", "--json-file", *FIXED_ARGS):
        assert flag in argv
    single = _argv("https://127.0.0.1:8443", tmp_path, options.model_copy(update={"workers": 0}))
    assert "--processes" not in single


def test_overrides_change_the_profile_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    target = Target(Profile.model_validate({"target": {"base_url": "http://127.0.0.1:9"}}))
    monkeypatch.setenv(overrides.ENV["users"], "3")
    monkeypatch.setenv(overrides.ENV["duration_s"], "5")
    options = LoadOptions.from_target(target, **overrides.from_env())
    assert (options.users, options.duration_s) == (3, 5.0)
    assert options.workers == target.profile.load.workers


def test_each_user_leaves_from_its_own_loopback_address() -> None:
    from harness.load import sources

    first = sources.next_address("http://127.0.0.1:8000", 0)
    second = sources.next_address("http://127.0.0.1:8000", 0)
    assert first and second and first != second
    assert first.startswith("127.0.160.")  # slot 160's block: the load generator's own
    assert sources.next_address("https://app.example.test", 0) is None
