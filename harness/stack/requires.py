"""What a stack definition needs from outside the harness wheel, checked before anything starts.

The bundled reference stack runs the checkout's ``fixtures/`` (its app and mocks, its nginx
template, its container files), which the harness's distribution does not ship. From a wheel
install ``harness up`` / ``harness run`` with such a profile must stop in one line that says what
to install, not half-start a stack whose app then fails to import.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

from harness.stack.base import StackError
from harness.stack.definition import StackDefinition


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check_available(definition: StackDefinition, files: Iterable[Path] = ()) -> None:
    """Raise one StackError when a module the services import or a file they need is missing."""
    modules = [name for name in definition.doctor_modules if not _importable(name)]
    absent = [str(path) for path in files if not path.exists()]
    if not modules and not absent:
        return
    install = definition.doctor_install
    how = f"pip install {install}" if install else "install what its services run"
    if install.startswith("-e "):
        # An editable path install: the packages live in the repository, not on an index.
        how += " from the repository checkout (the harness wheel does not ship them)"
    if modules:
        raise StackError(
            f"stack {definition.name!r} runs {', '.join(modules)}, which this Python cannot "
            f"import: {how}"
        )
    raise StackError(
        f"stack {definition.name!r} needs {', '.join(absent)}, which only the repository "
        f"checkout has: run from the checkout ({how})"
    )
