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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted_text = config.getoption("--controls")
    if not wanted_text:
        return
    wanted = {part.strip() for part in wanted_text.split(",") if part.strip()}
    keep = [item for item in items if controls_of(item) & wanted]
    dropped = [item for item in items if not controls_of(item) & wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
