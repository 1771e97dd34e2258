"""Root conftest: run ``pytest suites/...`` (and ``tests/``) from a checkout, installed or not.

The harness's pytest plugins (``harness.plugin``: controls and verdicts; ``harness.pytest_stack``:
the ``--profile``/``--stack-state`` options and the ``profile``, ``stack``, ``target`` and
``login`` fixtures) reach pytest through the ``pytest11`` entry points once the package is
installed. A bare checkout (``PYTHONPATH=.``, no ``pip install -e .``) has no entry points, so
this file loads the same plugins itself; when they are installed it loads nothing, so no
plugin is registered twice.
"""

from __future__ import annotations

from importlib.metadata import entry_points

HARNESS_PLUGINS = ("harness.plugin", "harness.pytest_stack")

_installed = {entry.value for entry in entry_points(group="pytest11")}
pytest_plugins = [name for name in HARNESS_PLUGINS if name not in _installed]


def pytest_configure(config) -> None:
    # The third-party smoke (tests/test_thirdparty_smoke.py): `-m "not thirdparty"` skips it.
    config.addinivalue_line(
        "markers", "thirdparty: runs the harness against apps from .venv-thirdparty"
    )
