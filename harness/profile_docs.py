"""Render docs/profiles.md from the profile model, so the key reference cannot drift.

``python -m harness.profile_docs`` rewrites the file; a test fails when it is out of date.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from harness.profile import Profile
from harness.profile.base import accepts_absent

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "profiles.md"

INTRO = """\
# Profiles

A profile is the typed description of one target: where it is (or how to bring it up), how to
log in, where its logs, database and cache are, what is in scope and which controls do not apply.
Profiles live in `harness.toml` under `[profiles.NAME]`; pick one with `--profile NAME` (every
command and pytest) or `HARNESS_PROFILE=NAME`. `HARNESS_CONFIG=PATH` names another file.
A profile may start with `extends = "other"` to inherit another profile's keys. Chains of any
depth resolve, from the root down, and tables merge key by key; a cycle (`a -> b -> a`) or an
unknown parent is one error naming the chain. `harness profile show NAME` prints the resolved
profile (secrets masked), `harness profile list` the names.
`HARNESS_LISTEN=ADDRESS` overrides `listen` (an address known only when the run starts, such
as a CI job container's address on its network).

## Absent values

Defaults are generic, never the reference app's. A key with no honest default for an arbitrary
target is *absent* until the profile sets it, and the checks that need it report
`not_applicable` naming the key to set. TOML has no null, so an optional key (type `... | None`
below) takes `false` to say "this target has none", for example `metrics_path = false` or
`logout_path = false`; list keys take `[]`. An empty string is rejected with a line that says to
write `false` (it used to be an undocumented off switch). `harness init --url URL` probes a
running target and writes a starter profile (see [your-app.md](your-app.md)).

Bundled profiles:

- `reference` (the default): the bundled stack as local processes; it names every route, cookie
  and service of the reference app explicitly.
- `reference-containers`: the same stack as containers through the Docker API.
- a commented `external` example: an already running deployment. Lifecycle operations (restarts,
  outage drills) are `not_applicable` there, with the reason; at-rest checks need
  `datastores.database_url` and `datastores.redis_url`.

A bad profile stops every command before anything starts, with one line naming the key:
`harness: profile 'reference': target.verify_tls: Input should be a valid boolean`.

Unknown keys are errors (a typo must not silently fall back to a default).

This page is generated from the models in `harness/profile/` (`python -m harness.profile_docs`).
"""


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return ""
        if isinstance(value, BaseModel):
            return "(table)"
        return f"`{value!r}`"
    if field.default is PydanticUndefined:
        return "required"
    if field.default is None and accepts_absent(field.annotation):
        return "absent (`false`)"
    return f"`{field.default!r}`"


def _table(annotation: Any) -> type[BaseModel] | None:
    """The model of a nested table, also when the table itself is optional (``X | None``)."""
    for member in typing.get_args(annotation) or (annotation,):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        table = _table(annotation)
        if table is not None and not _is_list(annotation):
            nested.append((key, table))
            continue
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | `{_type_name(annotation)}` | {_default(field)} | {description} |")
    for key, sub in nested:
        doc = (sub.__doc__ or "").strip().splitlines()[0] if sub.__doc__ else ""
        rows.append(f"| **`[{key}]`** | table | | {doc} |")
        rows.extend(_rows(sub, f"{key}."))
    return rows


def render() -> str:
    header = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines = [INTRO, "## Keys", "", *header]
    lines += _rows(Profile, "")
    return "\n".join(lines) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC_PATH
    target.write_text(render(), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
