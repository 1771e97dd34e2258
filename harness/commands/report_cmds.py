"""``harness report`` and ``harness gate``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.results import RESULTS_NAME, Results, ResultsError, load_results

EXIT_HARNESS_ERROR = 2


def _fail(command: str, message: str) -> None:
    click.echo(f"harness {command}: error: {message}", err=True)
    sys.exit(EXIT_HARNESS_ERROR)


_SIGNING_KEY = click.option(
    "--signing-key",
    default=None,
    metavar="PEM",
    help="Ed25519 private key (PEM) that re-seals the run [$HARNESS_SIGNING_KEY, else a new key]",
)


def _previous(results: Results, explicit: Path | None, run_dir: Path) -> Results | None:
    """--previous, else the run results.json names (``run.previous_id``, a sibling folder)."""
    if explicit is not None:
        return load_results(explicit)
    if not results.run.previous_id:
        return None
    candidate = run_dir.resolve().parent / results.run.previous_id / RESULTS_NAME
    if candidate.is_file():
        previous = load_results(candidate)
        if previous.run.id != results.run.id:
            return previous
    return None


@click.command("report")
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="output folder [the results' folder]")
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    help="results.json of an earlier run for the change list [the run named in previous_id]",
)
@_SIGNING_KEY
def report(
    results_path: Path, out: Path | None, previous: Path | None, signing_key: str | None
) -> None:
    """Render report.html, junit.xml, results.sarif and summary.md from RESULTS.

    Rendering into the run folder re-seals it (harness verify); --out elsewhere leaves the run
    folder as it is.
    """
    from harness.pipeline import PipelineError, republish
    from harness.report import REPORT_FILES, render_all

    run_dir = results_path.parent
    try:
        results = load_results(results_path)
        earlier = _previous(results, previous, run_dir)
    except ResultsError as exc:
        _fail("report", str(exc))
        return
    if out is not None and out.resolve() != run_dir.resolve():
        for path in render_all(results, out, previous=earlier, run_dir=run_dir):
            click.echo(path)
        return
    try:
        republish(run_dir, previous=earlier, signing_key_source=signing_key, render=True)
    except PipelineError as exc:
        _fail("report", str(exc))
        return
    for name in REPORT_FILES:
        click.echo(run_dir / name)


@click.command("gate")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(path_type=Path),
    help="policy TOML (see docs/gate.md)",
)
@click.option("--no-write", is_flag=True, help="do not record the decision in results.json")
@_SIGNING_KEY
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
def gate(policy_path: Path, no_write: bool, signing_key: str | None, results_path: Path) -> None:
    """Exit 0 if RESULTS meets the policy, 1 if not, 2 if the harness cannot tell.

    Recording the decision re-renders the run's reports and re-seals its folder.
    """
    from harness.gate import GateError, run_gate

    try:
        decision = run_gate(
            results_path,
            policy_path,
            echo=click.echo,
            write=not no_write,
            signing_key=signing_key,
        )
    except GateError as exc:
        _fail("gate", str(exc))
        return
    sys.exit(0 if decision.passed else 1)


COMMANDS = [report, gate]
