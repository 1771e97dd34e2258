"""The starter profile ``harness init`` writes: TOML with a comment on every guessed key.

The text is validated by loading it back as a profile before it is written, so a starter
profile always loads; what it cannot know (users, datastores) is left as commented examples.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime

from harness.init_probe import Discovery
from harness.profile import Profile
from harness.profile.load import resolve_raw

_TABLES = ("target", "auth", "logs", "scope")
_LOOPBACK = ["127.0.0.0/8", "::1", "localhost"]


def _value(value: object) -> str:
    if value is None:
        return "false"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(value)


def _line(key: str, value: object, comment: str) -> str:
    return f"{key} = {_value(value)}  # {comment}"


def render(name: str, found: Discovery, allow: list[str]) -> str:
    """The profile text for ``found``; ``allow`` is the scope the probe ran with."""
    table = f"profiles.{name}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# Starter profile written by `harness init --url {found.base_url}` on {stamp}",
        f"# after {found.requests} anonymous GET requests. Every `guessed:` comment says what the",
        "# guess rests on: check each one before trusting a verdict. Keys left out take the",
        "# defaults in docs/profiles.md; `false` means this target has none.",
        "",
        f"[{table}]",
        f'description = "{found.base_url} (written by harness init)"',
        'provider = "external"  # the harness does not start or stop this target',
        'safety = "safe"  # no state-changing request outside scope.allow_writes, no brute force',
    ]
    by_table: dict[str, list[str]] = {section: [] for section in _TABLES}
    by_table["target"].append(_line("base_url", found.base_url, "given with --url"))
    for guess in found.guesses:
        section, _, key = guess.key.partition(".")
        by_table[section].append(_line(key, guess.value, f"guessed: {guess.why}"))
    pages = ["/"]
    login_path = found.value("auth.login_path")
    if login_path and login_path not in pages:
        pages.append(login_path)
    why = "the home page and the login form" if len(pages) > 1 else "the home page"
    by_table["target"].append(_line("pages", pages, f"guessed: {why}"))
    if found.value("auth.flow") == "form":
        by_table["auth"].append(
            "users = []  # add test accounts: { name = ..., password = ..., role = 'user' }; "
            "two of one role for AUTH-10"
        )
    if allow != _LOOPBACK:
        by_table["scope"].append(_line("allow", allow, "given with --allow"))
    for section in _TABLES:
        if by_table[section]:
            lines += ["", f"[{table}.{section}]", *by_table[section]]
    lines += [
        "",
        "# At-rest checks need direct access to the target's stores (absent by default):",
        f"# [{table}.datastores]",
        '# database_url = "postgresql://user@127.0.0.1:5432/app"',
        '# redis_url = "redis://127.0.0.1:6379/0"',
    ]
    if found.notes:
        lines += ["", "# Looked for and not found, or worth knowing:"]
        lines += [f"# - {note}" for note in found.notes]
    return "\n".join(lines) + "\n"


def validate(text: str, name: str) -> Profile:
    """Load the written text back as the harness would (raises ProfileError, ValueError)."""
    profiles = tomllib.loads(text).get("profiles", {})
    return Profile.model_validate(resolve_raw(name, profiles))
