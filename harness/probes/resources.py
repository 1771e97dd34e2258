"""OBS-08: the process's own resources in the metrics exposition, judged from two scrapes.

The families are named by the profile (default: the Prometheus client libraries' process
collector). Each must be present; CPU time must advance across traffic the harness sends (the
positive control: a live counter, not a constant), memory and open descriptors must be
plausible. Several series of one family (a ``pid`` or worker label) are summed.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from harness.probes.metrics import Scrape, decode_key
from harness.profile.roadmap_section import ResourceMetricNames

MIN_MEMORY_BYTES = 1 << 20  # a live process holds at least a mebibyte resident


class ResourceReading(BaseModel):
    family: str
    role: str
    value: float | None = Field(default=None, description="summed over series; None: absent")


class ResourceVerdict(BaseModel):
    readings: list[ResourceReading] = Field(default_factory=list)
    cpu_delta_s: float | None = None
    problems: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def family_value(scrape: Scrape, family: str) -> float | None:
    """The family's value summed over its series (a counter's ``_total`` sample included)."""
    names = {family, f"{family}_total"}
    values = [v for key, v in scrape.samples.items() if decode_key(key)[0] in names]
    return sum(values) if values else None


def judge(before: Scrape, after: Scrape, names: ResourceMetricNames) -> ResourceVerdict:
    roles = {
        "CPU time": names.cpu_seconds,
        "resident memory": names.memory_bytes,
        "open files": names.open_files,
    }
    verdict = ResourceVerdict(
        readings=[
            ResourceReading(family=family, role=role, value=family_value(after, family))
            for role, family in roles.items()
        ]
    )
    missing = [f"{r.role} ({r.family})" for r in verdict.readings if r.value is None]
    if missing:
        verdict.problems.append("no series for " + ", ".join(missing))
    cpu_before = family_value(before, names.cpu_seconds)
    cpu_after = family_value(after, names.cpu_seconds)
    if cpu_before is not None and cpu_after is not None:
        verdict.cpu_delta_s = round(cpu_after - cpu_before, 4)
        if verdict.cpu_delta_s <= 0:
            verdict.problems.append(
                f"{names.cpu_seconds} did not advance across the probe traffic "
                f"({cpu_before:g} -> {cpu_after:g} s): a constant, not the process's CPU time"
            )
    memory = family_value(after, names.memory_bytes)
    if memory is not None and memory < MIN_MEMORY_BYTES:
        verdict.problems.append(f"{names.memory_bytes} = {memory:g}: below 1 MiB, not plausible")
    files = family_value(after, names.open_files)
    limit = family_value(after, names.max_files) if names.max_files else None
    if files is not None and files < 1:
        verdict.problems.append(f"{names.open_files} = {files:g}: a live server holds a socket")
    if files is not None and limit is not None and files > limit:
        verdict.problems.append(f"{names.open_files} = {files:g} above {names.max_files}")
    return verdict
