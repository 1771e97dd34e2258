"""A resolved profile as text: TOML a user can paste back, or JSON; secrets masked.

``None`` prints as ``false``, the documented spelling of an absent key, so the output is the
profile the harness runs with, key for key, defaults included.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.profile.model import Profile

MASK = "***"
# Key names whose values are credentials. Exact names, so ``tokens_path`` is not one.
_SECRET_KEYS = {"password", "token", "zap_api_key", "api_key", "secret", "client_secret"}
_SECRET_SUFFIXES = ("_password", "_token", "_secret", "_api_key")
_SECRET_ENV = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|(^|_)KEY($|_)|CREDENTIAL", re.IGNORECASE)


def _is_secret(key: str) -> bool:
    return key in _SECRET_KEYS or key.endswith(_SECRET_SUFFIXES)


def _mask_url(value: str) -> str:
    """``scheme://user:password@host`` keeps the user and hides the password."""
    parts = urlsplit(value)
    if not parts.password:
        return value
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def masked(data: Any, key: str = "", parent: str = "") -> Any:
    if isinstance(data, dict):
        return {k: masked(v, str(k), key) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(item, key, parent) for item in data]
    if isinstance(data, str) and data:
        if _is_secret(key) or (parent == "env" and _SECRET_ENV.search(key)):
            return MASK
        if "://" in data:
            return _mask_url(data)
    return data


def resolved(profile: Profile) -> dict[str, Any]:
    """Every key the harness reads, defaults included, secrets masked."""
    data: dict[str, Any] = masked(profile.model_dump(mode="json"))
    return data


def to_json(profile: Profile) -> str:
    return json.dumps(resolved(profile), indent=2, sort_keys=False)


def _scalar(value: Any) -> str:
    if value is None:
        return "false"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return json.dumps(str(value))


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _table(lines: list[str], header: str, data: dict[str, Any], top: bool) -> None:
    tables = {k: v for k, v in data.items() if isinstance(v, dict) and v}
    scalars = {k: v for k, v in data.items() if k not in tables}
    lines.append(f"[{header}]")
    for key, value in scalars.items():
        if key == "name" and top:
            continue  # the table header already names it
        lines.append(f"{_key(key)} = {_scalar(value)}")
    for key, value in tables.items():
        lines.append("")
        _table(lines, f"{header}.{_key(key)}", value, False)


def to_toml(profile: Profile) -> str:
    lines = [f"# profile {profile.name!r}, resolved (extends applied, defaults filled in);"]
    lines.append("# false means absent; secrets are masked.")
    _table(lines, f"profiles.{_key(profile.name)}", resolved(profile), True)
    return "\n".join(lines) + "\n"
