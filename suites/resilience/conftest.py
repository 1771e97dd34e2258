"""Shared fixtures of the resilience suite.

``resilience`` is the profile's ``[resilience]`` table (objectives and drill settings);
``attach_drill`` writes a drill's timeline (SVG), its steps and figures as evidence, and puts
the figures in results.json. ``login`` is the harness plugin's (harness/fixtures.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from harness.drills import drill_evidence
from harness.drills.prober import Sample
from harness.drills.traffic_frame import Drill
from harness.evidence import Evidence
from harness.profile.resilience_section import ResilienceSettings
from harness.target import Target

AttachDrill = Callable[..., None]


@pytest.fixture
def resilience(target: Target) -> ResilienceSettings:
    return target.profile.resilience


@pytest.fixture
def attach_drill(evidence: Evidence, tmp_path: Path) -> AttachDrill:
    def attach(drill: Drill, extra: Sequence[Sample] = (), units: dict[str, str] | None = None):
        drill_evidence.attach(evidence, drill, tmp_path, extra, units)

    return attach
