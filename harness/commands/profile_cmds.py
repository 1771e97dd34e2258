"""``harness profile show|list`` and ``harness init``: read profiles, write a starter one.

Errors a user can fix are one line ``harness: <message>`` and exit status 2, like the other
commands.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import NoReturn

import click
import httpx

from harness.profile import ProfileError, find_config, load_profile, profile_names
from harness.scope import OutOfScope, ScopeGuard, scoped_client

EXIT_USAGE = 2
LOOPBACK = ["127.0.0.0/8", "::1", "localhost"]
_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _fail(message: str) -> NoReturn:
    click.echo(f"harness: {message.splitlines()[0]}", err=True)
    sys.exit(EXIT_USAGE)


@click.group("profile")
def profile_group() -> None:
    """Inspect the profiles of harness.toml."""


@profile_group.command("show")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML.")
def show(name: str | None, as_json: bool) -> None:
    """Print profile NAME fully resolved: extends applied, defaults filled, secrets masked."""
    from harness.profile.render import to_json, to_toml

    try:
        profile = load_profile(name)
    except ProfileError as exc:
        _fail(str(exc))
    click.echo(to_json(profile) if as_json else to_toml(profile), nl=as_json)


@profile_group.command("list")
def list_profiles() -> None:
    """The profile names in harness.toml, with their descriptions."""
    config = find_config()
    names = profile_names(config)
    if not names:
        _fail(f"{config}: no profiles (add a [profiles.NAME] table or run `harness init`)")
    for name in names:
        try:
            description = load_profile(name, config).description
        except ProfileError as exc:
            description = f"(does not load: {exc})"
        click.echo(f"{name:<24} {description}")


@click.command("init")
@click.option("--url", required=True, help="Base URL of the running target.")
@click.option(
    "--log-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The target's log file, to tell JSON from plain log lines.",
)
@click.option("--name", default="app", show_default=True, help="Profile name to write.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the profile to this file (created if missing); default: print it.",
)
@click.option(
    "--allow",
    multiple=True,
    help="Host or network the probe may contact besides loopback (repeatable).",
)
@click.option("--insecure", is_flag=True, help="Do not verify TLS (self-signed targets).")
def init(
    url: str,
    log_file: Path | None,
    name: str,
    out: Path | None,
    allow: tuple[str, ...],
    insecure: bool,
) -> None:
    """Probe a running target and write a starter profile with a comment on every guess."""
    from harness.init_probe import probe
    from harness.init_writer import render, validate

    if not _NAME.fullmatch(name):
        _fail(f"--name {name!r}: use letters, digits, '-' and '_' only")
    if not url.startswith(("http://", "https://")):
        _fail(f"--url {url!r}: give a full URL such as http://127.0.0.1:8000")
    scope = [*LOOPBACK, *allow]
    guard = ScopeGuard(scope)
    base = url.rstrip("/")
    try:
        guard.check(base)
    except OutOfScope:
        _fail(f"{base} is outside the scope (loopback only by default); pass --allow HOST")
    if out is not None and out.is_file() and f"[profiles.{name}]" in out.read_text("utf-8"):
        _fail(f"{out} already has a [profiles.{name}] table; pick another --name")
    click.echo(f"probing {base} ...", err=True)
    timeout = httpx.Timeout(5.0)
    try:
        with scoped_client(guard, verify=not insecure, base_url=base, timeout=timeout) as client:
            found = probe(client, base, log_file)
    except (ConnectionError, OutOfScope) as exc:
        _fail(str(exc))
    text = render(name, found, scope)
    try:
        validate(text, name)
    except (ValueError, ProfileError) as exc:  # a bug of the writer, not of the user's input
        raise click.ClickException(f"the written profile does not load: {exc}") from exc
    if out is None:
        click.echo(text, nl=False)
        return
    existing = out.read_text("utf-8") if out.is_file() else ""
    separator = "\n" if existing and not existing.endswith("\n\n") else ""
    out.write_text(existing + separator + text, encoding="utf-8")
    click.echo(
        f"wrote profile {name!r} to {out} ({len(found.guesses)} guesses); "
        f"check it with: harness profile show {name}",
        err=True,
    )


COMMANDS = [profile_group, init]
