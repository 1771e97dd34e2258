"""``harness export`` (OSCAL, HDF, DefectDojo) and ``harness baseline update`` (the ratchet)."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import click

from harness.results import ResultsError, load_results

EXIT_OK, EXIT_INVALID, EXIT_HARNESS_ERROR = 0, 1, 2


def _fail(command: str, message: str) -> None:
    click.echo(f"harness {command}: error: {message}", err=True)
    sys.exit(EXIT_HARNESS_ERROR)


@click.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["oscal", "hdf", "defectdojo"]),
    required=True,
    help="OSCAL assessment-results, MITRE HDF, or DefectDojo generic findings",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="file to write [standard output]",
)
@click.option(
    "--check",
    is_flag=True,
    help="validate with the consumers' tools (trestle; inspecjs and saf; DefectDojo's fields)",
)
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
def export(fmt: str, out: Path | None, check: bool, results_path: Path) -> None:
    """Export RESULTS (a results.json) as FORMAT, with each control's refs and NIST mapping.

    With --check, exit 0 when every check passed, 1 when one found the document invalid, 2 when
    one could not run (its tool is missing) or the harness failed.
    """
    from harness.export import Format, export_document
    from harness.export.checks import CheckResult, check_defectdojo, check_hdf, check_oscal
    from harness.export.oscal import OscalUnavailable

    chosen: Format = "oscal" if fmt == "oscal" else "hdf" if fmt == "hdf" else "defectdojo"
    try:
        data = export_document(load_results(results_path), chosen)
    except (ResultsError, OscalUnavailable) as exc:
        _fail("export", str(exc))
        return
    except ValueError as exc:
        _fail("export", f"the {fmt} document does not validate: {str(exc).splitlines()[0]}")
        return
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        click.echo(f"{fmt}: {out}", err=True)
    if not check:
        return
    checks: list[CheckResult]
    if chosen == "oscal":
        checks = [check_oscal(data)]
    elif chosen == "hdf":
        checks = check_hdf(data)
    else:
        checks = [check_defectdojo(data)]
    for result in checks:
        click.echo(f"check {result.status}: {result.check}: {result.detail}", err=True)
    if any(r.status == "invalid" for r in checks):
        sys.exit(EXIT_INVALID)
    if any(r.status == "not_evaluated" for r in checks):
        sys.exit(EXIT_HARNESS_ERROR)


@click.group("baseline")
def baseline() -> None:
    """The accepted findings the gate compares against (the ratchet, docs/gate.md)."""


def _policy_baseline(policy: Path) -> Path:
    try:
        raw = tomllib.loads(policy.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{policy}: cannot read the policy: {exc}") from None
    name = raw.get("baseline")
    if not isinstance(name, str) or not name:
        raise ValueError(f'{policy}: names no baseline file (add baseline = "baseline.json")')
    return (policy.parent / name).resolve()


@baseline.command("update")
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="policy TOML whose `baseline` file is rewritten",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="baseline file to write (instead of --policy's)",
)
def update(results_path: Path, policy_path: Path | None, out: Path | None) -> None:
    """Write RESULTS' findings as the accepted baseline; print what was added and dropped."""
    from harness.baseline import BaselineError
    from harness.baseline_update import write_baseline

    try:
        if out is not None and policy_path is None:
            target = out
        elif policy_path is not None and out is None:
            target = _policy_baseline(policy_path)
        else:
            raise ValueError("give exactly one of --policy and --out")
        results = load_results(results_path)
        added, dropped = write_baseline(results, target)
    except (ResultsError, BaselineError, ValueError, OSError) as exc:
        _fail("baseline update", str(exc))
        return
    for finding_id in sorted(added):
        click.echo(f"added: {finding_id}")
    for finding_id in sorted(dropped):
        click.echo(f"dropped: {finding_id} (no longer found)")
    total = len([f for f in results.findings if not f.synthesized])
    click.echo(f"baseline {target}: {total} finding(s), {len(added)} added, {len(dropped)} dropped")


COMMANDS = [export, baseline]
