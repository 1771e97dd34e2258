"""The base of every profile table: unknown keys are errors, and "absent" is spelled ``false``.

TOML has no null, so an optional key (one whose Python type allows ``None``) takes ``false``
to say "this target has none". An empty string used to be an undocumented off switch; it is
rejected with a line that names the documented spelling, so a typo'd value never reads as
"switched off".
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from harness.verdicts import NotApplicable


class ProfileError(Exception):
    """A profile could not be loaded; the message is one line that says what to fix."""


def _members(annotation: Any) -> tuple[Any, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def accepts_absent(annotation: Any) -> bool:
    """True for keys whose "not present on this target" is written ``false``."""
    members = _members(annotation)
    return type(None) in members and bool not in members


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _absent_is_false(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        field = cls.model_fields.get(name)
        if field is None or not accepts_absent(field.annotation):
            return value
        if value is False:
            return None
        if isinstance(value, str) and not value.strip():
            raise ValueError(
                f"an empty string is not a value; write {name} = false when the target has none"
            )
        return value


def required(value: str | None, key: str, what: str) -> str:
    """``value``, or NotApplicable naming the profile key a check needs and that is absent."""
    if not value:
        raise NotApplicable(f"the profile names no {what}; set {key} in the profile")
    return value
