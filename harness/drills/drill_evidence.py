"""A traffic drill's evidence, for every suite that runs one: its timeline (SVG), its steps,
steady-state checks and figures (JSON), every request, and the figures in results.json."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.drills import timeline
from harness.drills.prober import Sample, figures
from harness.drills.traffic_frame import Drill
from harness.evidence import Evidence


def attach(
    evidence: Evidence,
    drill: Drill,
    folder: Path,
    extra: Sequence[Sample] = (),
    units: dict[str, str] | None = None,
) -> None:
    """Write ``drill``'s evidence; ``extra`` samples join the prober's (requests the drill
    sent itself), ``units`` names the unit of each figure that is not in seconds."""
    samples = sorted([*drill.prober.samples, *extra], key=lambda s: s.t)
    name = drill.report.name
    path = folder / (name.replace(" ", "-").replace("/", "-") + "-timeline.svg")
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
