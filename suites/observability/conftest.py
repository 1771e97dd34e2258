"""Shared fixtures of the observability suite.

``obs`` is the profile's ``observability`` section; ``app_log`` captures the target's log from
a mark (``app_log.lines()``), so a test judges only what happened since it started. ``login``
is the harness plugin's (harness/fixtures.py), shared with every suite.
"""

from __future__ import annotations

import pytest

from harness.logs import LogCapture
from harness.profile import ObservabilitySettings
from harness.target import Target


@pytest.fixture
def obs(target: Target) -> ObservabilitySettings:
    return target.profile.observability


@pytest.fixture
def app_log(target: Target) -> LogCapture:
    return LogCapture(target)
