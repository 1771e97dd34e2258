"""``harness up``, ``down``, ``status`` and ``doctor``: operate a stack from the shell.

``up`` writes a pointer to the run's state file (``.harness/state.json`` beside harness.toml,
``$HARNESS_STACK_STATE`` overrides), which ``down``, ``status`` and ``pytest --stack-state``
read. Errors a user can fix are one line ``harness: <message>`` and exit status 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import NoReturn

import click

from harness.profile import Profile, ProfileError, find_config, load_profile
from harness.stack.base import HasState, Stack, StackError

EXIT_USAGE = 2
STATE_ENV = "HARNESS_STACK_STATE"


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"harness: {message.splitlines()[0] if code == EXIT_USAGE else message}", err=True)
    sys.exit(code)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _load(name: str | None) -> Profile:
    try:
        return load_profile(name)
    except ProfileError as exc:
        _fail(str(exc))


def pointer_path() -> Path:
    """Where ``up`` records the current stack for ``down`` and ``status``."""
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        return Path(explicit)
    config = find_config()
    if config.is_file() and os.access(config.parent, os.W_OK):
        return config.parent / ".harness" / "state.json"
    from harness.stack.paths import cache_dir

    return cache_dir() / "current.json"


def _write_pointer(pointer: Path, state_path: Path) -> None:
    """A symlink, so it dangles (reads as "no stack") once the run dir is gone."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    temporary = pointer.with_name(f".{pointer.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(state_path)
    os.replace(temporary, pointer)


def _clear_pointer(pointer: Path, state_path: Path | None = None) -> None:
    with contextlib.suppress(OSError):
        if state_path is None or Path(os.readlink(pointer)) == state_path:
            pointer.unlink()


def _current(pointer: Path) -> Stack | None:
    if not pointer.exists():  # missing, or a link to a run dir that is gone
        return None
    from harness.stack import attach

    try:
        return attach(pointer, progress=_progress)
    except StackError:
        return None


def _print_urls(stack: Stack) -> None:
    for name, status in stack.status().items():
        if status.url:
            click.echo(f"{name:<13} {status.url}")
    with contextlib.suppress(KeyError, StackError):
        click.echo(f"{'app_direct':<13} {stack.url('app_direct')}")
    if stack.ca_bundle:
        click.echo(f"{'ca_bundle':<13} {stack.ca_bundle}")


# -- up --------------------------------------------------------------------------------------
@click.command()
@click.option("--profile", "profile_name", default=None, help="profile from harness.toml")
@click.option(
    "--detach", is_flag=True, help="start, print the URLs and return; `harness down` stops it"
)
def up(profile_name: str | None, detach: bool) -> None:
    """Bring the profile's stack up and print its URLs (foreground until Ctrl-C)."""
    profile = _load(profile_name)
    from harness.stack import open_stack

    if not profile.manages_stack:
        click.echo(f"{'app':<13} {profile.target.base_url}")
        _progress(f"harness: profile {profile.name!r} is an external deployment: nothing to start")
        return
    from harness.stack.reaper import reap_orphans

    # A crashed earlier stack (owner dead) is cleaned up first, so it does not block this one.
    for run_dir in reap_orphans():
        _progress(f"harness: reaped orphaned stack {run_dir}")
    pointer = pointer_path()
    running = _current(pointer)
    if running is not None:
        _fail(f"a stack is already running (state {pointer}); stop it with `harness down`")

    def _terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    # Until the stack is up and handed over, Ctrl-C and SIGTERM must still tear down.
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack: Stack | None = None
    state_path: Path | None = None
    try:
        stack = open_stack(profile, owner_pid=None if detach else -1, progress=_progress)
        stack.up()
        state_path = stack.state.path if isinstance(stack, HasState) else None
        if state_path:
            _write_pointer(pointer, state_path)
        _print_urls(stack)
        if state_path:
            click.echo(f"{'state':<13} {state_path}")
        sys.stdout.flush()
        if detach:
            stack = None  # leave it running
            _progress("harness: detached; stop it with `harness down`")
            return
        _progress("harness: stack is up; Ctrl-C to stop")
        _watch(stack)
    except StackError as exc:
        _fail(str(exc), code=1)
    finally:
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.down()
            if state_path:
                _clear_pointer(pointer, state_path)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _watch(stack: Stack) -> None:
    """Wait for a signal; say so once when a service dies behind our back."""
    reported: set[str] = set()
    while True:
        time.sleep(1.0)
        for name, status in stack.status().items():
            if status.state == "failed" and name not in reported:
                reported.add(name)
                _progress(f"harness: service {name} is not running any more")


# -- down ------------------------------------------------------------------------------------
@click.command()
@click.option("--all", "everything", is_flag=True, help="also stop every other detached stack")
def down(everything: bool) -> None:
    """Stop the stack `harness up` started, and reap stacks whose owner died."""
    from harness.stack.reaper import reap_orphans

    pointer = pointer_path()
    stack = _current(pointer)
    stopped = 0
    if stack is not None:
        stack.down()
        stopped += 1
    _clear_pointer(pointer)
    reaped: list[object] = list(reap_orphans(include_detached=everything))
    reaped += _reap_containers(everything)
    for run in reaped:
        _progress(f"harness: reaped orphaned stack {run}")
    if not stopped and not reaped:
        _progress("harness: no stack running")


def _reap_containers(include_detached: bool) -> list[str]:
    """Containers of dead runs, when the containers provider is here and an engine is set up
    (probing for an engine that is not there would only cost time)."""
    sockets = ("/var/run/docker.sock", "/run/podman/podman.sock")
    if not os.environ.get("DOCKER_HOST") and not any(os.path.exists(p) for p in sockets):
        return []
    try:
        from harness.stack import containers
    except ImportError:
        return []
    try:
        return list(containers.reap_orphans(include_detached=include_detached))
    except Exception as exc:  # the engine went away: report, do not fail `down`
        _progress(f"harness: could not reap containers: {exc}")
        return []


# -- status ----------------------------------------------------------------------------------
@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(as_json: bool) -> None:
    """Show the services of the current stack, their URLs and states."""
    pointer = pointer_path()
    stack = _current(pointer)
    if stack is None:
        if as_json:
            click.echo(json.dumps({"profile": None, "services": {}}))
        else:
            _progress("harness: no stack running")
        sys.exit(1)
    services = stack.status()
    document = {
        "profile": stack.name,
        "state_file": str(stack.state.path) if isinstance(stack, HasState) else None,
        "ca_bundle": stack.ca_bundle,
        "services": {
            name: {"url": s.url, "state": s.state.value, "pid": s.pid, "detail": s.detail}
            for name, s in services.items()
        },
    }
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"profile {stack.name}  ({document['state_file']})")
    for name, s in services.items():
        click.echo(f"  {name:<13} {s.state.value:<8} {s.url or '-':<45} {s.detail or ''}")


# -- doctor ----------------------------------------------------------------------------------
@click.command()
@click.option("--profile", "profile_name", default=None, help="profile from harness.toml")
def doctor(profile_name: str | None) -> None:
    """Check every prerequisite of the profile; say what to install. Exit 1 if one is missing."""
    from harness.stack.doctor import run_checks

    profile = _load(profile_name)
    missing = 0
    for check in run_checks(profile):
        mark = "ok  " if check.ok else ("MISS" if check.required else "warn")
        click.echo(f"{mark} {check.name:<22} {check.detail}")
        if not check.ok and check.fix:
            click.echo(f"     {'':<22} -> {check.fix}")
        if not check.ok and check.required:
            missing += 1
    if missing:
        click.echo(
            f"harness: {missing} required prerequisite(s) missing for profile {profile.name!r}",
            err=True,
        )
        sys.exit(1)
    click.echo(f"all required prerequisites of profile {profile.name!r} are present")


COMMANDS = [up, down, status, doctor]
