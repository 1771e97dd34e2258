"""``harness run``: up the stack, run suites, report, gate (``harness efficacy`` shares helpers)."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click

from harness.profile import Profile, ProfileError, load_profile
from harness.runner import (
    DEFAULT_SUITES,
    HarnessError,
    available_suites,
    default_workers,
    run_pytest,
)
from harness.safety import SafetyPolicy
from harness.stack.base import Stack, StackError

EXIT_PASS, EXIT_GATE_FAILED, EXIT_HARNESS_ERROR = 0, 1, 2


def _err(message: str) -> None:
    click.echo(f"harness: {message}", err=True)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _run_id() -> str:
    from harness.rundir import new_run_id

    return new_run_id()


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


def _check_controls(controls: tuple[str, ...]) -> list[str] | None:
    """The control ids asked for, upper-cased; an id the catalog lacks is one line and exit 2."""
    if not controls:
        return None
    from harness.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    wanted = [c.strip().upper() for c in controls]
    unknown = [c for c in wanted if c not in catalog]
    if unknown:
        _err(f"no control {', '.join(unknown)} in the catalog (harness controls lists them)")
        sys.exit(EXIT_HARNESS_ERROR)
    return wanted


def _gate_exit(results_path: Path) -> int:
    """The exit code from the gate decision the run's pipeline recorded in results.json."""
    from harness.results import ResultsError, load_results

    try:
        gate = load_results(results_path).gate
    except ResultsError as exc:
        _err(str(exc))
        return EXIT_HARNESS_ERROR
    if gate is None:
        _err(f"{results_path}: the run recorded no gate decision (see the pytest output above)")
        return EXIT_HARNESS_ERROR
    return EXIT_PASS if gate.passed else EXIT_GATE_FAILED


def _check_run_inputs(policy: Path | None, signing_key: str | None) -> None:
    """A bad policy or signing key is one line before the stack comes up, not after."""
    from harness.gate import GateError, load_policy
    from harness.seal import SealError
    from harness.seal import signing_key as load_key

    try:
        if policy is not None:
            load_policy(policy)
        load_key(signing_key)
    except (GateError, SealError) as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)


@click.command("run")
@click.option("--profile", "profile_name", default=None, help="profile in harness.toml")
@click.option("--suite", "suites", multiple=True, help="suite folder under suites/ (repeatable)")
@click.option(
    "--control",
    "controls",
    multiple=True,
    metavar="ID",
    help="only the tests of this control, e.g. SEC-01 (repeatable; see harness controls)",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="report directory")
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="gate policy (default: every applicable control must pass)",
)
@click.option(
    "--signing-key",
    default=None,
    metavar="PEM",
    help="Ed25519 private key (PEM) that seals the run [$HARNESS_SIGNING_KEY, else per run]",
)
@click.option("--workers", "-n", type=int, default=None, help="pytest-xdist workers")
@click.option("--verbose", "-v", is_flag=True, help="show pytest's own output")
def run(
    profile_name: str | None,
    suites: tuple[str, ...],
    controls: tuple[str, ...],
    out: Path | None,
    policy: Path | None,
    signing_key: str | None,
    workers: int | None,
    verbose: bool,
) -> None:
    """Bring the stack up, run the suites, write every report and apply the gate.

    With --control, only the tests of those controls run (within the chosen suites, or all of
    them); the report lists the others as not run.

    Exit code: 0 the gate passed, 1 it failed, 2 the harness itself failed.
    """
    profile = _load(profile_name)
    chosen = _check_suites(suites)
    wanted = _check_controls(controls)
    if policy is not None and not policy.is_file():
        _err(f"{policy}: no such policy file")
        sys.exit(EXIT_HARNESS_ERROR)
    _check_run_inputs(policy, signing_key)
    _preflight_external(profile)
    # The mode comes first, so a user pointing at a live target sees what will and won't be
    # sent before anything is; a malformed allow_writes/exclude entry stops here in one line.
    try:
        safety = SafetyPolicy.from_profile(profile).describe()
    except ProfileError as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    for line in safety:
        _progress(line)
    # One run id for the folder and results.json; the pytest child runs the one pipeline
    # (fold, gate, render, seal, latest) and this command only reads its decision.
    run_id = _run_id()
    out = (out or Path.cwd() / "reports" / run_id).resolve()
    extra = ["--harness-run-id", run_id]
    if policy is not None:
        extra += ["--harness-policy", str(policy.resolve())]
    if signing_key:
        extra += ["--harness-signing-key", str(Path(signing_key).resolve())]
    try:
        with _stack_up(profile) as (_stack, state):
            _progress(f"run: suites {', '.join(chosen)} -> {out}")
            suite_run = run_pytest(
                profile=profile.name,
                state_path=state,
                suites=chosen,
                out=out,
                workers=workers or default_workers(),
                controls=wanted,
                echo=(lambda line: click.echo(line, err=True)),
                # A partial run is not the full set: a control with no verdict is not an error.
                strict_catalog=not suites and not wanted,
                extra_args=extra,
            )
    except (StackError, HarnessError) as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    _progress(f"run: suites took {suite_run.duration_s:.0f}s")
    code = _gate_exit(suite_run.results)
    click.echo(f"report: {out / 'report.html'}")
    sys.exit(code)


COMMANDS = [run]
