"""``harness efficacy``: every control fails on its seeded faults and only they fail."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Literal

import click

from harness.commands.run_cmds import (
    EXIT_GATE_FAILED,
    EXIT_HARNESS_ERROR,
    EXIT_PASS,
    _check_controls,
    _check_suites,
    _err,
    _load,
    _progress,
    _run_id,
    _stack_up,
)
from harness.runner import HarnessError, PytestRunner, default_workers
from harness.stack.base import StackError


@click.command("efficacy")
@click.option("--profile", "profile_name", default=None, help="profile in harness.toml")
@click.option("--fault", "faults", multiple=True, help="only this fault (repeatable)")
@click.option(
    "--quick",
    is_flag=True,
    help="each non-planned control's first fault only (the PR matrix)",
)
@click.option(
    "--full",
    is_flag=True,
    help="run every control under every fault to measure collateral (the nightly matrix)",
)
@click.option(
    "--group-from",
    "group_from",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="efficacy.json of an earlier --full run: faults it shows do not interfere share runs",
)
@click.option(
    "--stacks",
    type=click.IntRange(1, 8),
    default=1,
    show_default=True,
    help="independent stacks that take faults side by side (each needs its own cores)",
)
@click.option("--suite", "suites", multiple=True, help="suite folder under suites/ (repeatable)")
@click.option(
    "--control",
    "controls",
    multiple=True,
    metavar="ID",
    help="only these controls: their clean run and the faults they map to (repeatable)",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="output directory")
@click.option("--workers", "-n", type=int, default=None, help="pytest-xdist workers")
@click.option("--verbose", "-v", is_flag=True, help="show pytest's own output")
def efficacy(
    profile_name: str | None,
    faults: tuple[str, ...],
    quick: bool,
    full: bool,
    group_from: Path | None,
    stacks: int,
    suites: tuple[str, ...],
    controls: tuple[str, ...],
    out: Path | None,
    workers: int | None,
    verbose: bool,
) -> None:
    """Show that every control fails on its seeded faults and passes on the clean stack.

    Exit 0 only when every counted fault is caught, none is inconclusive and no control fails on
    the clean stack; 1 otherwise; 2 when the harness itself could not run the matrix.
    """
    from harness.catalog import CatalogError, load_catalog
    from harness.efficacy import run_efficacy
    from harness.efficacy_groups import KnownFault, load_known
    from harness.efficacy_model import efficacy_document
    from harness.efficacy_registry import check_drift, load_registry, select_faults

    profile = _load(profile_name)
    if not profile.manages_stack:
        _err(f"profile {profile.name!r} is external: efficacy needs a stack it can reconfigure")
        sys.exit(EXIT_HARNESS_ERROR)
    if faults and quick:
        _err("--fault and --quick exclude each other: name faults or ask for the quick matrix")
        sys.exit(EXIT_HARNESS_ERROR)
    if full and group_from is not None:
        _err("--full and --group-from exclude each other: collateral needs each fault alone")
        sys.exit(EXIT_HARNESS_ERROR)
    known: dict[str, KnownFault] | None = None
    try:
        catalog = load_catalog()
        if group_from is not None:
            known = load_known(group_from)
    except (CatalogError, HarnessError) as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    chosen = _check_suites(suites)
    wanted = _check_controls(controls)
    selection: Literal["all", "quick", "named"] = "named" if faults else "quick" if quick else "all"
    out = (out or Path.cwd() / "reports" / f"efficacy-{_run_id()}").resolve()
    try:
        with contextlib.ExitStack() as held:
            stack, state = held.enter_context(_stack_up(profile))
            registry = load_registry(stack)
            check_drift(catalog, registry)
            selected = select_faults(
                catalog, registry, only=faults, quick=quick, controls=wanted or ()
            )

            def runner_for(state_path: Path | None) -> PytestRunner:
                return PytestRunner(
                    profile=profile.name,
                    state_path=state_path,
                    suites=chosen,
                    echo=_progress if verbose else None,
                    strict_catalog=not suites and not wanted,
                )

            runner = runner_for(state)
            lanes = []
            for _ in range(stacks - 1):
                extra, extra_state = held.enter_context(_stack_up(profile))
                lanes.append((extra, runner_for(extra_state)))
            report = run_efficacy(
                stack,
                runner,
                catalog=catalog,
                faults=selected,
                profile=profile.name,
                out=out,
                workers=workers or default_workers(),
                full=full,
                selection=selection,
                known=known,
                lanes=lanes,
                controls=wanted,
                echo=_progress,
            )
    except (StackError, HarnessError) as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    document = efficacy_document(report)
    (out / "efficacy.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if report.clean.results:
        _attach_to_clean_report(Path(report.clean.results), document)
    for outcome in report.faults:
        if outcome.status in ("missed", "inconclusive", "pending"):
            _progress(f"  {outcome.status} {outcome.name}: {outcome.reason}")
    if report.clean.failed:
        _progress(f"  false alarms on the clean stack: {', '.join(report.clean.failed)}")
    fault_s = sum(o.duration_s for o in report.faults)
    _progress(
        f"efficacy: clean run {report.clean.duration_s:.0f}s, {len(report.faults)} fault(s) "
        f"{fault_s:.0f}s added up, total {report.duration_s:.0f}s"
    )
    if not full:
        _progress("efficacy: collateral not measured (only the mapped controls ran; see --full)")
    click.echo(f"efficacy: {report.summary.line()}")
    click.echo(f"efficacy: {out / 'efficacy.json'}")
    if report.clean.results:
        click.echo(f"report: {Path(report.clean.results).parent / 'report.html'}")
    sys.exit(EXIT_PASS if report.ok else EXIT_GATE_FAILED)


def _attach_to_clean_report(results_path: Path, document: dict[str, object]) -> None:
    """Put the matrix into the clean run's results.json so its HTML report shows it.

    Through the pipeline: results.json changes, the reports are rendered again and the run
    folder is re-sealed, so ``harness verify`` still passes on it.
    """
    from harness.pipeline import republish
    from harness.results import Efficacy, Results

    matrix = Efficacy.model_validate(document)

    def attach(results: Results) -> None:
        results.efficacy = matrix

    republish(results_path.parent, update=attach, render=True)


COMMANDS = [efficacy]
