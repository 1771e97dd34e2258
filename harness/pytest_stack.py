"""pytest plugin: the ``profile``, ``stack`` and ``target`` fixtures, shared by xdist workers.

One stack per test run. Without xdist the ``stack`` fixture starts it and tears it down. Under
xdist the controller hands every worker a shared directory (``pytest_configure_node``); the
first worker that needs the stack starts it under a file lock there and records its state
file, the others attach, and the controller tears it down at the end of the session. The
stack's owner is the controller, so if the whole run crashes the next start-up reaps it.

Tests that use the stack hold its readers-writer lock: shared by default, exclusive for
``@pytest.mark.disruptive`` tests. A lifecycle operation the provider cannot do
(LifecycleUnsupported: an external deployment) makes the test ``not_applicable``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from harness.fixtures import login
from harness.profile import Profile, ProfileError, load_profile
from harness.stack.base import HasState, Heals, LifecycleUnsupported, Lockable, Stack, StackError
from harness.target import Target
from harness.verdicts import NotApplicable

# Shared suite fixtures (harness/fixtures.py): pytest finds them in this plugin's namespace.
__all__ = ["login", "profile", "stack", "target"]

STATE_ENV = "HARNESS_STACK_STATE"
_SHARED_DIR = pytest.StashKey[Path]()
_POINTER = "stack.json"


def _progress(message: str) -> None:
    # Straight to the real stderr: pytest captures sys.stderr during fixtures.
    print(message, file=sys.__stderr__, flush=True)


# -- options ---------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness-stack", "harness stack")
    group.addoption(
        "--profile",
        default=None,
        help="harness profile to test (default: $HARNESS_PROFILE or 'reference')",
    )
    group.addoption(
        "--stack-state",
        metavar="PATH",
        default=None,
        help="attach to a running stack by its state file (e.g. from `harness up --detach`; "
        f"also ${STATE_ENV}) instead of starting one",
    )
    group.addoption(
        "--keep-stack",
        action="store_true",
        default=False,
        help="leave the stack running after the session (stop it with `harness down`)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "disruptive: stops, restarts or reconfigures stack services (exclusive lock)"
    )
    config.addinivalue_line("markers", "stack: the test needs a running stack")
    config.addinivalue_line("markers", "benchmark: a timing measurement; prints its figures")
    explicit = config.getoption("profile", default=None)
    if explicit:
        # Fail before collecting anything: one line that says what is wrong with the profile.
        try:
            load_profile(explicit)
        except ProfileError as exc:
            raise pytest.UsageError(str(exc)) from None
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Controller(config), "harness-stack-controller")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class _Controller:
    """Hooks of the controller process (or the only process, without xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.figures: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Benchmark figures (``record_property("benchmark", line)``) from any worker."""
        if report.when == "call":  # every phase's report carries the item's properties
            self.figures += [str(v) for k, v in report.user_properties if k == "benchmark"]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.figures:
            terminalreporter.section("harness benchmark")
            for line in self.figures:
                terminalreporter.write_line(line)

    def shared_dir(self) -> Path:
        if _SHARED_DIR not in self.config.stash:
            self.config.stash[_SHARED_DIR] = Path(tempfile.mkdtemp(prefix="harness-pytest-"))
        return self.config.stash[_SHARED_DIR]

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["harness_stack_dir"] = str(self.shared_dir())
        node.workerinput["harness_stack_owner"] = os.getpid()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Workers are done by now: take down the stack one of them started."""
        if _SHARED_DIR not in self.config.stash:
            return
        shared = self.config.stash[_SHARED_DIR]
        pointer = _read_pointer(shared)
        if pointer and pointer.get("state"):
            if self.config.getoption("keep_stack"):
                _progress(f"harness: stack kept running; state file {pointer['state']}")
            else:
                with contextlib.suppress(StackError):
                    from harness.stack import attach

                    attach(pointer["state"], progress=_progress).down()
        with contextlib.suppress(OSError):
            for name in (_POINTER, "stack.lock"):
                (shared / name).unlink(missing_ok=True)
            shared.rmdir()


def _read_pointer(shared: Path) -> dict[str, str] | None:
    try:
        data: dict[str, str] = json.loads((shared / _POINTER).read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return None


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    """The loaded profile (``--profile``, ``$HARNESS_PROFILE`` or ``reference``)."""
    try:
        return load_profile(pytestconfig.getoption("profile"))
    except ProfileError as exc:
        raise pytest.UsageError(str(exc)) from None


def _attach_path(config: pytest.Config) -> str | None:
    return config.getoption("stack_state") or os.environ.get(STATE_ENV) or None


@pytest.fixture(scope="session")
def stack(
    profile: Profile, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The run's one stack (started on first use, shared by every xdist worker)."""
    from harness.stack import attach, open_stack

    attach_to = _attach_path(pytestconfig)
    if attach_to:
        yield attach(attach_to, progress=_progress)  # someone else's stack: never stop it
        return
    if not profile.manages_stack:
        yield open_stack(profile)
        return
    keep = bool(pytestconfig.getoption("keep_stack"))
    workerinput: dict[str, Any] | None = getattr(pytestconfig, "workerinput", None)
    if workerinput is None:
        started = open_stack(profile, owner_pid=None if keep else -1, progress=_progress)
        _register_secrets(profile, started)
        try:
            started.up()
            yield started
        finally:
            if keep:
                _progress(f"harness: stack kept running; state file {_state_path(started)}")
            else:
                started.down()
        return
    # An xdist worker: share with the others through the controller's directory.
    shared = Path(workerinput.get("harness_stack_dir") or tmp_path_factory.getbasetemp().parent)
    owner = workerinput.get("harness_stack_owner", os.getppid())
    with FileLock(str(shared / "stack.lock")):
        pointer = _read_pointer(shared)
        if pointer is None:
            created = open_stack(profile, owner_pid=None if keep else owner, progress=_progress)
            try:
                created.up()
            except StackError as exc:
                # Later workers fail fast with the same message instead of retrying a minute.
                (shared / _POINTER).write_text(json.dumps({"error": str(exc)}), encoding="utf-8")
                raise
            (shared / _POINTER).write_text(
                json.dumps({"state": str(_state_path(created))}), encoding="utf-8"
            )
            shared_stack = created
        elif pointer.get("error"):
            raise StackError(pointer["error"])
        else:
            shared_stack = attach(pointer["state"], progress=_progress)
    _register_secrets(profile, shared_stack)
    yield shared_stack  # the controller tears it down (pytest_sessionfinish)


def _state_path(stack: Stack) -> Path | None:
    return stack.state.path if isinstance(stack, HasState) else None


def _register_secrets(profile: Profile, stack: Stack) -> None:
    """Tokens the profile's (mock) OAuth provider issues are redacted from evidence.

    The provider is the stack service ``auth.oauth.provider_service`` listing what it issued at
    ``auth.oauth.tokens_path`` (see harness.plugin); a profile that names none has nothing to
    register.
    """
    oauth = profile.auth.oauth
    if oauth is None or not oauth.provider_service or not oauth.tokens_path:
        return
    from harness.plugin import mock_token_source, register_secret_source

    try:
        url = stack.url(oauth.provider_service)
    except (KeyError, StackError):
        return  # the stack does not run it (an external target's real provider)
    register_secret_source(mock_token_source(url, oauth.tokens_path))


@pytest.fixture(scope="session")
def target(profile: Profile, stack: Stack) -> Target:
    """The target as suites see it: URLs, OpenAPI, scoped clients, logs."""
    return Target(profile, stack, ca_bundle=stack.ca_bundle)


@contextlib.contextmanager
def holding(current: Stack, *, exclusive: bool = False) -> Iterator[None]:
    """Hold the stack's lock (shared unless ``exclusive``); a no-op for a stack with none.

    For session-scoped fixtures that send traffic: pytest sets them up before the per-test
    lock below is taken, so without this a disruptive test on another worker could stop a
    service in the middle of their work.
    """
    if not isinstance(current, Lockable):  # external: nothing to coordinate
        yield
        return
    lock = current.lock()
    with lock.exclusive() if exclusive else lock.shared():
        yield


@pytest.fixture(autouse=True)
def _stack_lock(request: pytest.FixtureRequest) -> Generator[None, None, None]:
    """Shared stack lock for tests that use the stack, exclusive for disruptive ones."""
    # A parametrize argument that happens to be called "target" is not this plugin's fixture.
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    names = [name for name in request.fixturenames if name not in params]
    if "stack" not in names and "target" not in names:
        yield
        return
    current: Stack = request.getfixturevalue("stack")
    if not isinstance(current, Lockable):  # external: nothing to coordinate
        yield
        return
    lock = current.lock()
    disruptive = request.node.get_closest_marker("disruptive") is not None
    with lock.exclusive() if disruptive else lock.shared():
        # Taken under the lock, so no disruptive test is halfway through changing it.
        baseline = request.config.stash.setdefault(_BASELINE, _baseline_of(current))
        yield
        if disruptive:
            _heal(current, baseline)


_BASELINE = pytest.StashKey[tuple[str, list[str]] | None]()


def _baseline_of(current: Stack) -> tuple[str, list[str]] | None:
    """The release and faults the stack had when this session first used it.

    Not the profile's: a stack this session attached to (``harness efficacy`` switches a fault
    on, then runs the suites) must be healed back to what it was given, not to a clean stack.
    """
    return current.baseline() if isinstance(current, Heals) else None


def _heal(current: Stack, baseline: tuple[str, list[str]] | None) -> None:
    """After a disruptive test, put back what it changed so the next test sees the stack as
    this session found it: stopped services started, release and faults as they were."""
    if not isinstance(current, Heals) or baseline is None:
        return
    release, faults = baseline
    for action in current.heal(release, faults):
        _progress(f"harness: after disruptive test: {action}")


# -- verdicts --------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A lifecycle operation the provider cannot do means the control does not apply here."""
    try:
        return (yield)
    except LifecycleUnsupported as exc:
        raise NotApplicable(str(exc)) from exc
