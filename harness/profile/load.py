"""Reading ``harness.toml``: find the file, resolve ``extends`` chains, validate one profile."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.profile.base import ProfileError
from harness.profile.model import DEFAULT_PROFILE, Profile

CONFIG_NAME = "harness.toml"


def find_config(start: Path | None = None) -> Path:
    """``HARNESS_CONFIG``, else the nearest ``harness.toml`` from ``start`` upwards."""
    explicit = os.environ.get("HARNESS_CONFIG")
    if explicit:
        return Path(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    # None found: a source checkout's own file (the bundled profiles), else name the one the
    # user would add here (an installed harness ships none).
    checkout = Path(__file__).resolve().parents[2] / CONFIG_NAME
    if checkout.is_file() and (checkout.parent / "fixtures").is_dir():
        return checkout
    return here / CONFIG_NAME


def _describe(error: ValidationError, profile: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(profile)"
    message = first["msg"].removeprefix("Value error, ")
    return f"profile {profile!r}: {key}: {message}"


def _read(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(
            f"{path}: no such file (set HARNESS_CONFIG or add {CONFIG_NAME})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ProfileError(f"{path}: [profiles] must be a table of [profiles.NAME] tables")
    return profiles


def chain(name: str, profiles: dict[str, Any]) -> list[str]:
    """``name`` and its ancestors, child first; a cycle or unknown parent is one ProfileError."""
    names = [name]
    while True:
        parent = profiles[names[-1]].get("extends")
        if parent is None:
            return names
        path = " -> ".join([*names, str(parent)])
        if not isinstance(parent, str):
            raise ProfileError(f"profile {names[-1]!r}: extends must be a profile name ({path})")
        if parent in names:
            raise ProfileError(f"profile {name!r}: extends forms a cycle: {path}")
        if parent not in profiles:
            raise ProfileError(f"profile {name!r}: extends: no profile named {parent!r} ({path})")
        names.append(parent)


def resolve_raw(name: str, profiles: dict[str, Any]) -> dict[str, Any]:
    """The merged table of ``name``: the root of its chain first, each child over it."""
    merged: dict[str, Any] = {}
    for ancestor in reversed(chain(name, profiles)):
        merged = _merge(merged, dict(profiles[ancestor]))
    merged.pop("extends", None)
    merged["name"] = name
    return merged


def load_profile(name: str | None = None, config: Path | None = None) -> Profile:
    """Load one profile by name; raise ProfileError with one line naming the bad key."""
    name = name or os.environ.get("HARNESS_PROFILE") or DEFAULT_PROFILE
    path = config or find_config()
    profiles = _read(path)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"{path}: no profile named {name!r} (known: {known})")
    raw = resolve_raw(name, profiles)
    if os.environ.get("HARNESS_LISTEN"):
        # Known only when the run starts (a CI job container's address on its network).
        raw["listen"] = os.environ["HARNESS_LISTEN"].strip()
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(_describe(exc, name)) from None


def profile_names(config: Path | None = None) -> list[str]:
    path = config or find_config()
    try:
        return sorted(_read(path))
    except ProfileError:
        return []


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged
