"""DOC-01: the operational documents exist, say something, name their drills' commands and are
no older than the files that define those commands.

A command is found when its words appear in order with any whitespace between them (a
document may wrap or indent a command line; backticks and prompts around it do not matter).
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from harness.probes.documents import Changed, FileView, last_change
from harness.profile import Profile
from harness.profile.roadmap_section import OperationalDocument

# A document with no more than headings, blank lines and rules says nothing.
_EMPTY_LINE = re.compile(r"^\s*(#.*|[-=*_]{3,})?\s*$")


class DocumentCheck(BaseModel):
    role: str
    path: str
    read: str = Field(description="the file actually read (a variant's copy when one is on)")
    variant: str | None = None
    problems: list[str] = Field(default_factory=list)
    commands_named: list[str] = Field(default_factory=list)
    changed: Changed | None = None
    defined_by: list[Changed] = Field(default_factory=list)


def required_commands(spec: OperationalDocument, profile: Profile) -> list[str]:
    """The spec's command lines, and for secret rotation the profile's own rotate command."""
    commands = list(spec.commands)
    if spec.role == "secret_rotation" and profile.operations.rotate_keys:
        commands.append(shlex.join(profile.operations.rotate_keys))
    return list(dict.fromkeys(commands))


def names_command(text: str, command: str) -> bool:
    words = command.split()
    if not words:
        return True
    pattern = r"\s+".join(re.escape(word) for word in words)
    return re.search(rf"(?<![\w-]){pattern}(?![\w-])", text) is not None


def _stamp(changed: Changed) -> str:
    when = changed.when or 0.0
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check(spec: OperationalDocument, profile: Profile, view: FileView) -> DocumentCheck:
    path = view.path(spec.path)
    result = DocumentCheck(
        role=spec.role, path=spec.path, read=str(path), variant=view.origin(spec.path)
    )
    # The name a reader knows, and which variant stood in for it when one did.
    label = spec.path if result.variant is None else f"{spec.path} (as seeded by {result.variant})"
    if not path.is_file():
        result.problems.append(f"{label}: no such file")
        return result
    text = path.read_text(encoding="utf-8", errors="replace")
    if all(_EMPTY_LINE.match(line) for line in text.splitlines()):
        result.problems.append(f"{label}: empty (no text beyond headings)")
        return result
    commands = required_commands(spec, profile)
    result.commands_named = [c for c in commands if names_command(text, c)]
    missing = [c for c in commands if c not in result.commands_named]
    if missing:
        result.problems.append(f"{spec.path} does not name {', '.join(repr(c) for c in missing)}")
    result.changed = last_change(path)
    result.defined_by = [last_change(view.path(p)) for p in spec.changed_with]
    newer = [
        c
        for c in result.defined_by
        if c.when is not None and result.changed.when is not None and c.when > result.changed.when
    ]
    if newer:
        latest = max(newer, key=lambda c: c.when or 0.0)
        result.problems.append(
            f"{label} last changed {_stamp(result.changed)} ({result.changed.how}), before "
            f"{latest.path} defining its commands ({_stamp(latest)}, {latest.how})"
        )
    gone = [p for p, c in zip(spec.changed_with, result.defined_by, strict=True) if c.when is None]
    if gone:
        result.problems.append(f"{label}: the files defining its commands are gone: {gone}")
    return result


def missing_roles(profile: Profile) -> list[str]:
    named = {spec.role for spec in profile.roadmap.documents}
    return [role for role in profile.roadmap.required_documents if role not in named]
