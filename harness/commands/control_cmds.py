"""``harness controls [ID]``: the catalog, and one control as a unit (tests, probes, faults, doc).

Everything comes from files (the catalog and the suites' source), so it needs no stack and answers
at once.
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from harness.catalog import Catalog, CatalogError, Control, load_catalog
from harness.runner import SUITES_ROOT
from harness.suite_scan import ControlCoverage, SuitesNotFound, scan_suites

EXIT_HARNESS_ERROR = 2
# The checkout keeps docs/ beside suites/; an installed wheel has no docs, so no page is named.
DOCS_CONTROLS = SUITES_ROOT.parent / "docs" / "controls"


def _fail(message: str) -> NoReturn:
    click.echo(f"harness controls: error: {message}", err=True)
    sys.exit(EXIT_HARNESS_ERROR)


def doc_page(control: Control) -> str | None:
    """The control's documentation page (docs/controls/<area>.md), when it exists."""
    page = DOCS_CONTROLS / f"{control.area.value.replace('_', '-')}.md"  # supply-chain.md
    return page.relative_to(SUITES_ROOT.parent).as_posix() if page.is_file() else None


def describe(control: Control, coverage: ControlCoverage) -> dict[str, object]:
    """One control as a unit: what it claims, how, and what proves it (``--json`` shape)."""
    return {
        **control.model_dump(mode="json"),
        "ref_labels": control.refs.labels(),
        "tests": coverage.tests,
        "probes": coverage.probes,
        "engines": coverage.engines,
        "doc": doc_page(control),
    }


def _show(unit: dict[str, object]) -> None:
    def items(key: str) -> str:
        value = unit[key]
        return ", ".join(str(v) for v in value) if isinstance(value, list) and value else "none"

    state = " (planned)" if unit["planned"] else ""
    click.echo(f"{unit['id']}  {unit['title']}{state}")
    click.echo(f"  area      {unit['area']}, severity {unit['severity']}")
    click.echo(f"  claim     {unit['claim']}")
    click.echo(f"  method    {unit['method']}")
    click.echo(f"  refs      {items('ref_labels')}")
    click.echo(f"  faults    {items('faults')}")
    click.echo(f"  probes    {items('probes')}")
    if unit["engines"]:
        click.echo(f"  engines   {items('engines')}")
    click.echo(f"  doc       {unit['doc'] or 'none'}")
    tests = unit["tests"]
    click.echo("  tests" + ("     none" if not tests else ""))
    for nodeid in tests if isinstance(tests, list) else []:
        click.echo(f"    {nodeid}")


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except CatalogError as exc:
        _fail(str(exc))


@click.command("controls")
@click.argument("control_id", metavar="[ID]", required=False)
@click.option("--json", "as_json", is_flag=True, help="print as JSON")
def controls(control_id: str | None, as_json: bool) -> None:
    """List the control catalog, or show control ID: claim, method, refs, tests, probes, faults
    and doc page."""
    catalog = _catalog()
    if control_id is None:
        if as_json:
            click.echo(json.dumps([c.model_dump(mode="json") for c in catalog], indent=2))
            return
        for control in catalog:
            state = "planned" if control.planned else ""
            click.echo(
                f"{control.id:<8} {control.area.value:<13} {control.severity.value:<8} "
                f"{state:<7} {control.title}"
            )
        return
    wanted = control_id.strip().upper()
    if wanted not in catalog:
        _fail(f"no control {control_id!r} in the catalog (see `harness controls`)")
    try:
        coverage = scan_suites(SUITES_ROOT).get(wanted, ControlCoverage())
    except SuitesNotFound as exc:
        _fail(str(exc))
    unit = describe(catalog.get(wanted), coverage)
    if as_json:
        click.echo(json.dumps(unit, indent=2))
    else:
        _show(unit)


COMMANDS = [controls]
