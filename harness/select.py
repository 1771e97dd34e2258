"""Select tests by the controls they verify: ``-p harness.select --controls SEC-01,AUTH-02``.

Loaded explicitly (not through the entry point) because only the efficacy runner needs it:
it reruns just the controls a fault maps to.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--controls",
        default=None,
        help="comma-separated control ids: run only the tests that verify one of them",
    )


def controls_of(item: pytest.Item) -> set[str]:
    ids: set[str] = set()
    for marker in item.iter_markers("control"):
        ids.update(str(arg) for arg in marker.args)
    return ids


def chosen_controls(config: pytest.Config) -> list[str] | None:
    """The ids ``--controls`` names; None when this plugin is not loaded or no id is given."""
    text = config.getoption("--controls", default=None)
    if not text:
        return None
    return [part.strip() for part in str(text).split(",") if part.strip()]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = chosen_controls(config)
    if not chosen:
        return
    wanted = set(chosen)
    keep = [item for item in items if controls_of(item) & wanted]
    dropped = [item for item in items if not controls_of(item) & wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
