"""The one reader for baselines: files of accepted finding ids (the gate's and the DAST control's).

Formats, chosen by the first non-blank character:

* ``[`` a JSON list of ids or of objects with an ``id`` (``[{"id": "...", ...}]``);
* ``{`` a JSON object ``{"findings": [...]}`` with the same entries (results.json works too);
* anything else: one id per line, ``#`` starts a comment, blank lines are ignored.
"""

from __future__ import annotations

import json
from pathlib import Path


class BaselineError(Exception):
    """The baseline cannot be read; the message is one line that says what to fix."""


def load_baseline(path: Path) -> set[str]:
    """The finding ids ``path`` accepts."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise BaselineError(f"baseline {path}: not UTF-8 text") from None
    if text.lstrip().startswith(("[", "{")):
        return _json_ids(path, text)
    ids = set()
    for line in text.splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            ids.add(value)
    return ids


def _json_ids(path: Path, text: str) -> set[str]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"baseline {path}: not valid JSON: {exc}") from None
    entries = data.get("findings", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise BaselineError(f"baseline {path}: 'findings' must be a list of finding ids")
    ids = set()
    for entry in entries:
        value = entry.get("id") if isinstance(entry, dict) else entry
        if not isinstance(value, str) or not value:
            raise BaselineError(
                f"baseline {path}: entries must be finding ids or objects with an 'id'"
            )
        ids.add(value)
    return ids
