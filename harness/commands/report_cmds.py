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


def _previous(results_path: Path, results: Results, explicit: Path | None) -> Results | None:
    """--previous, else the run results.json names, else reports/latest if it is another run."""
    if explicit is not None:
        return load_results(explicit)
    runs = results_path.resolve().parent.parent
    candidates = [runs / "latest" / RESULTS_NAME]
    if results.run.previous_id:
        candidates.insert(0, runs / results.run.previous_id / RESULTS_NAME)
    for candidate in candidates:
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
    help="results.json of an earlier run for the change list [reports/latest]",
)
def report(results_path: Path, out: Path | None, previous: Path | None) -> None:
    """Render report.html, junit.xml, results.sarif and summary.md from RESULTS."""
    from harness.report import render_all

    try:
        results = load_results(results_path)
        earlier = _previous(results_path, results, previous)
    except ResultsError as exc:
        _fail("report", str(exc))
        return
    run_dir = results_path.parent
    target = out or run_dir
    # render_all refreshes the run's manifest when it writes into the run folder.
    written = render_all(results, target, previous=earlier, run_dir=run_dir)
    for path in written:
        click.echo(path)


@click.command("gate")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(path_type=Path),
    help="policy TOML (see docs/gate.md)",
)
@click.option("--no-write", is_flag=True, help="do not record the decision in results.json")
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
def gate(policy_path: Path, no_write: bool, results_path: Path) -> None:
    """Exit 0 if RESULTS meets the policy, 1 if not, 2 if the harness cannot tell."""
    from harness.gate import GateError, run_gate

    try:
        decision = run_gate(results_path, policy_path, echo=click.echo, write=not no_write)
    except GateError as exc:
        _fail("gate", str(exc))
        return
    sys.exit(0 if decision.passed else 1)


COMMANDS = [report, gate]
