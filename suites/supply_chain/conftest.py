"""The supply-chain suite reads the target's files, not its running services: it needs no stack.

When the run is attached to a stack (``--stack-state``, as ``harness run`` and ``harness
efficacy`` do), the stack's state says which seeded faults are on; those that are file variants
are laid over the files read, and the interpreter the stack runs the app with is the
environment the SBOM lists.
"""

from __future__ import annotations

import os

import pytest

from harness.profile import Profile, find_config
from harness.stack.state import read_state
from harness.supply_chain.context import SupplyChain


@pytest.fixture(scope="session")
def supply_chain(
    profile: Profile, pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> SupplyChain:
    faults: list[str] = []
    python: str | None = None
    state_path = pytestconfig.getoption("stack_state", default=None) or os.environ.get(
        "HARNESS_STACK_STATE"
    )
    if state_path:
        state = read_state(state_path)
        faults, python = list(state.faults), state.python
    return SupplyChain(
        profile,
        base=find_config().resolve().parent,
        scratch=tmp_path_factory.mktemp("supply-chain"),
        faults=faults,
        stack_python=python,
    )
