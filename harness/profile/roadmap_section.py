"""What the roadmap's gap controls read (``[profiles.X.roadmap]``): resource metric names
(OBS-08), the operational documents (DOC-01), the target's own test command (CI-01) and its
Kubernetes manifests (SC-07).

Paths are relative to the folder of ``harness.toml``. Nothing here has a reference-app default:
a target that names no documents, command or manifests gets not_applicable with the key to set.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.profile.base import Strict

DocumentRole = Literal["runbook", "rollback", "secret_rotation", "security"]
ROLES: list[DocumentRole] = ["runbook", "rollback", "secret_rotation", "security"]


class ResourceMetricNames(Strict):
    """Metric families of the process's own resources (OBS-08; default: the process collector)."""

    cpu_seconds: str = Field(default="process_cpu_seconds", description="CPU time counter")
    memory_bytes: str = Field(
        default="process_resident_memory_bytes", description="resident memory gauge"
    )
    open_files: str = Field(default="process_open_fds", description="open descriptors gauge")
    max_files: str | None = Field(
        default="process_max_fds", description="descriptor limit gauge (optional in the target)"
    )


class OperationalDocument(Strict):
    """One document an operator needs, and what makes it current."""

    role: DocumentRole
    path: str = Field(description="the document, relative to harness.toml's folder")
    commands: list[str] = Field(
        default_factory=list,
        description="command lines the document must name (the drills' own commands)",
    )
    changed_with: list[str] = Field(
        default_factory=list,
        description="files defining those commands: the document must be no older than any",
    )


class CiSettings(Strict):
    """The target's own test suite (CI-01)."""

    test_command: list[str] | None = Field(
        default=None, description="argv of the target's own tests, run in the app service"
    )
    service: str = Field(default="app", description="the stack service whose environment runs it")
    budget_s: float = Field(default=300.0, gt=0, description="the roadmap's 5 minutes")


class ManifestSettings(Strict):
    """The target's Kubernetes manifests (SC-07)."""

    paths: list[str] = Field(
        default_factory=list, description="manifest files or folders (YAML), harness.toml-relative"
    )
    stateful: list[str] = Field(
        default_factory=list,
        description="workloads that keep data and need a persistent volume (e.g. postgres)",
    )
    min_replicas: int = Field(default=2, ge=1, description="an HPA's lowest sane minReplicas")
    max_replicas: int = Field(default=50, ge=1, description="an HPA's highest sane maxReplicas")


class ProfilingSettings(Strict):
    """Profiling under load (PERF-05): one more app instance started under the profiler."""

    command: list[str] | None = Field(
        default=None,
        description="argv that serves the app on '{port}' (run in the service's environment "
        "under py-spy record); none: PERF-05 is not_applicable",
    )
    service: str = Field(default="app", description="the stack service whose environment runs it")
    paths: list[str] = Field(
        default_factory=list, description="read routes (GET, anonymous) to load (default: live)"
    )
    duration_s: float = Field(default=15.0, gt=0, description="seconds sampled under load")
    rate_hz: int = Field(default=100, gt=0, description="samples per second")
    max_function_share: float = Field(
        default=0.5, gt=0, le=1, description="the most CPU samples one function may own"
    )


class CapacitySettings(Strict):
    """Capacity (PERF-06): a step load on one read route against the expected peak."""

    expected_peak_rps: float | None = Field(
        default=None,
        gt=0,
        description="the rate the target must serve within the SLO; none: "
        "PERF-06 is not_applicable",
    )
    path: str | None = Field(
        default=None, description="the read route (anonymous GET) to load (default: live path)"
    )
    steps_rps: list[float] = Field(
        default_factory=list,
        description="rates tried in order (default: 1/3, 2/3, 1 and 4/3 of the expected peak)",
    )
    step_s: float = Field(default=5.0, gt=0, description="seconds each step lasts")


class RoadmapSettings(Strict):
    """The roadmap gap controls' inputs (OBS-08, DOC-01, CI-01, SC-07; docs/controls/roadmap.md)."""

    resource_metrics: ResourceMetricNames = Field(default_factory=ResourceMetricNames)
    documents: list[OperationalDocument] = Field(
        default_factory=list,
        description="[[roadmap.documents]] tables (DOC-01): role (runbook, rollback, "
        "secret_rotation, security), path, commands (lines it must name), changed_with (files "
        "defining them); none: DOC-01 is not_applicable",
    )
    required_documents: list[DocumentRole] = Field(
        default_factory=lambda: list(ROLES),
        description="roles the roadmap asks a document for",
    )
    variants: dict[str, str] = Field(
        default_factory=dict,
        description="folder -> folder of per-fault overlays (<fault>/ mirrors the folder): the "
        "seeded file variants a checked file is read through while that fault is on",
    )
    ci: CiSettings = Field(default_factory=CiSettings)
    manifests: ManifestSettings = Field(default_factory=ManifestSettings)
    profiling: ProfilingSettings = Field(default_factory=ProfilingSettings)
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)
