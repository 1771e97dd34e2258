"""``harness verify``: check a run folder against its signed manifest."""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_TAMPERED, EXIT_HARNESS_ERROR = 0, 1, 2


@click.command("verify")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="PEM public key the run must be signed with [manifest.pub in DIR]",
)
def verify(folder: Path, public_key: Path | None) -> None:
    """Check DIR's manifest signature and every file's SHA-256.

    Exit 0 intact, 1 a file changed, went missing or was added, or the signature does not
    hold, 2 nothing to check (no manifest, no signature, unreadable key).
    """
    from harness.seal import SealError
    from harness.seal import verify as check

    try:
        result = check(folder, public_key)
    except SealError as exc:
        click.echo(f"harness verify: error: {exc}", err=True)
        sys.exit(EXIT_HARNESS_ERROR)
    click.echo(f"key: {result.fingerprint} ({result.key_source})")
    click.echo("signature: " + ("valid" if result.signature_ok else "INVALID"))
    for label, paths in (
        ("changed", result.changed),
        ("missing", result.missing),
        ("extra", result.extra),
    ):
        for path in paths:
            click.echo(f"{label}: {path}")
    if result.ok:
        click.echo(f"verify passed: {result.checked} files match the signed manifest")
        sys.exit(EXIT_OK)
    problems = len(result.changed) + len(result.missing) + len(result.extra)
    click.echo(
        f"verify FAILED: {problems} file(s) differ from the manifest"
        + ("" if result.signature_ok else "; the manifest's signature does not hold"),
        err=True,
    )
    sys.exit(EXIT_TAMPERED)


COMMANDS = [verify]
