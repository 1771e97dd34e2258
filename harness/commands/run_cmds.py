"""``harness run``: up the stack, run suites, report, gate (``harness efficacy`` shares helpers)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from harness.profile import Profile, ProfileError, load_profile
from harness.runner import (
    DEFAULT_SUITES,
    REPO_ROOT,
    HarnessError,
    available_suites,
    default_workers,
    run_pytest,
)
from harness.stack.base import Stack, StackError

EXIT_PASS, EXIT_GATE_FAILED, EXIT_HARNESS_ERROR = 0, 1, 2


def _err(message: str) -> None:
    click.echo(f"harness: {message}", err=True)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid() % 10000:04d}"


def _point_latest(out: Path) -> None:
    latest = REPO_ROOT / "reports" / "latest"
    if out.parent.resolve() != latest.parent.resolve():
        return
    with contextlib.suppress(OSError):
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(out.name)


@contextlib.contextmanager
def _stack_up(profile: Profile) -> Iterator[tuple[Stack, Path | None]]:
    """Bring the profile's stack up for the duration of the block; always take it down.

    SIGTERM is turned into SystemExit so the ``finally`` below runs for it as for Ctrl-C.
    """
    from harness.stack import open_stack

    def _terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _terminate)
    stack = open_stack(profile, progress=_progress)
    try:
        began = time.monotonic()
        _progress(f"stack: bringing up profile {profile.name!r} ({profile.provider})")
        stack.up()
        _progress(f"stack: up in {time.monotonic() - began:.1f}s")
        state = getattr(stack, "state_path", None)
        yield stack, (Path(state) if state else None)
    finally:
        _progress("stack: taking down")
        with contextlib.suppress(Exception):
            stack.down()
        signal.signal(signal.SIGTERM, previous)


def _preflight_external(profile: Profile) -> None:
    """An external target must be in scope and answer before any suite runs against it.

    Without this, an unreachable or out-of-scope target shows up as dozens of errored tests
    instead of the one line that says what to fix.
    """
    import httpx

    from harness.scope import OutOfScope, ScopeGuard, scoped_client

    if profile.manages_stack:
        return
    base = str(profile.target.base_url).rstrip("/")
    guard = ScopeGuard(profile.scope.allow)
    try:
        guard.check(base)
        with scoped_client(guard, verify=profile.target.verify_tls, timeout=10.0) as client:
            client.get(base + profile.target.live_path)
    except OutOfScope as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    except httpx.HTTPError as exc:
        _err(
            f"cannot reach the target {base}: {exc or type(exc).__name__} "
            f"(check target.base_url in profile {profile.name!r})"
        )
        sys.exit(EXIT_HARNESS_ERROR)


def _load(profile_name: str | None) -> Profile:
    try:
        return load_profile(profile_name)
    except ProfileError as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)


def _check_suites(suites: tuple[str, ...]) -> list[str]:
    chosen = list(suites) or [s for s in DEFAULT_SUITES if s in available_suites()]
    unknown = [s for s in chosen if s not in available_suites()]
    if unknown:
        _err(f"no suite named {', '.join(unknown)} (known: {', '.join(available_suites())})")
        sys.exit(EXIT_HARNESS_ERROR)
    return chosen


def _apply_gate(results_path: Path, policy: Path | None) -> int:
    from harness.gate import GateError, run_gate

    try:
        outcome = run_gate(results_path, policy, echo=lambda line: click.echo(line, err=True))
    except GateError as exc:
        _err(str(exc))
        return EXIT_HARNESS_ERROR
    return EXIT_PASS if outcome.passed else EXIT_GATE_FAILED


def _render(results_path: Path) -> None:
    from harness.report import render_all
    from harness.results import load_results

    render_all(load_results(results_path), results_path.parent)


@click.command("run")
@click.option("--profile", "profile_name", default=None, help="profile in harness.toml")
@click.option("--suite", "suites", multiple=True, help="suite folder under suites/ (repeatable)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="report directory")
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="gate policy (default: every applicable control must pass)",
)
@click.option("--workers", "-n", type=int, default=None, help="pytest-xdist workers")
@click.option("--verbose", "-v", is_flag=True, help="show pytest's own output")
def run(
    profile_name: str | None,
    suites: tuple[str, ...],
    out: Path | None,
    policy: Path | None,
    workers: int | None,
    verbose: bool,
) -> None:
    """Bring the stack up, run the suites, write every report and apply the gate.

    Exit code: 0 the gate passed, 1 it failed, 2 the harness itself failed.
    """
    profile = _load(profile_name)
    chosen = _check_suites(suites)
    if policy is not None and not policy.is_file():
        _err(f"{policy}: no such policy file")
        sys.exit(EXIT_HARNESS_ERROR)
    _preflight_external(profile)
    out = (out or REPO_ROOT / "reports" / _run_id()).resolve()
    try:
        with _stack_up(profile) as (_stack, state):
            _progress(f"run: suites {', '.join(chosen)} -> {out}")
            suite_run = run_pytest(
                profile=profile.name,
                state_path=state,
                suites=chosen,
                out=out,
                workers=workers or default_workers(),
                echo=(lambda line: click.echo(line, err=True)),
                strict_catalog=not suites,
            )
    except (StackError, HarnessError) as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    _progress(f"run: suites took {suite_run.duration_s:.0f}s")
    code = _apply_gate(suite_run.results, policy)
    _render(suite_run.results)
    _point_latest(out)
    click.echo(f"report: {out / 'report.html'}")
    sys.exit(code)


COMMANDS = [run]
