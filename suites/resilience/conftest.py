"""Shared fixtures of the resilience suite.

``resilience`` is the profile's ``[resilience]`` table (objectives and drill settings);
``attach_drill`` writes a drill's timeline (SVG), its steps and figures as evidence, and puts
the figures in results.json. ``login`` is the harness plugin's (harness/fixtures.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from harness.drills import timeline
from harness.drills.prober import Sample, figures
from harness.drills.traffic_frame import Drill
from harness.profile.resilience_section import ResilienceSettings
from harness.target import Target

AttachDrill = Callable[..., None]


@pytest.fixture
def resilience(target: Target) -> ResilienceSettings:
    return target.profile.resilience


@pytest.fixture
def attach_drill(evidence, tmp_path: Path) -> AttachDrill:
    def attach(drill: Drill, extra: Sequence[Sample] = (), units: dict[str, str] | None = None):
        samples = sorted([*drill.prober.samples, *extra], key=lambda s: s.t)
        name = drill.report.name
        path = tmp_path / (name.replace(" ", "-").replace("/", "-") + "-timeline.svg")
        path.write_text(timeline.render(name, samples, drill.prober.events), encoding="utf-8")
        evidence.file(path, f"{name}: timeline")
        overall = figures(samples)
        evidence.json(
            f"{name}: steps, steady state and figures",
            {**drill.report.model_dump(), "prober": overall.model_dump()},
        )
        evidence.json(f"{name}: every request", [s.model_dump() for s in samples])
        for key, value in drill.report.figures.items():
            evidence.figure(f"{name}: {key}", value, (units or {}).get(key, "s"))
        evidence.figure(f"{name}: failed requests", overall.failed, "requests")
        evidence.figure(f"{name}: longest gap", overall.longest_gap_s, "s")

    return attach
