"""The supply-chain checks' inputs (``[profiles.X.supply_chain]``): the target's files.

Every path is relative to the profile's config file (``harness.toml``) unless absolute. Each
input is optional: a control whose input the profile does not name is not_applicable with
that reason, never a pass.
"""

from __future__ import annotations

from pydantic import Field

from harness.profile.base import Strict

# checkov checks SC-04 judges by default, grouped by the property they verify. Other failed
# checks are recorded as findings but do not fail the control (a digest-pinned image, a
# non-default namespace... are a deployment's choice, not hardening every target owes).
DEFAULT_DEPLOY_CHECKS: dict[str, list[str]] = {
    "non-root": ["CKV_DOCKER_3", "CKV_DOCKER_8", "CKV_K8S_6", "CKV_K8S_16", "CKV_K8S_20"],
    "pinned base": ["CKV_DOCKER_7", "CKV_K8S_14"],
    "health check": ["CKV_DOCKER_2", "CKV_K8S_8", "CKV_K8S_9"],
    "resource limits": ["CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"],
    "read-only root": ["CKV_K8S_22"],
}


class FileVariants(Strict):
    """Where a target keeps the file variants of its seeded faults of one kind."""

    root: str = Field(description="the folder a variant is laid over, e.g. the source tree")
    variants: str = Field(description="folder of variants, one sub-folder per fault name")


class SupplyChainSettings(Strict):
    """The target's source, dependency, container, manifest and workflow files (SC-01..06)."""

    source: str | None = Field(
        default=None, description="the source tree SAST (SC-01) and secret scanning (SC-06) read"
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="glob patterns under `source` that are not the target's code (fixtures, "
        "variants, vendored files)",
    )
    sast_baseline: str | None = Field(
        default=None,
        description="bandit JSON report of accepted findings: only findings not in it fail SC-01",
    )
    dependencies: list[str] = Field(
        default_factory=list,
        description="pinned requirements files pip-audit reads (SC-02)",
    )
    advisories: str | None = Field(
        default=None,
        description="offline advisory mirror: a folder of OSV records (JSON) served to pip-audit "
        "on loopback; without it pip-audit asks its public service, and SC-02 is not_evaluated "
        "when that is not reachable",
    )
    environment: str | None = Field(
        default=None,
        description="the target's Python interpreter whose environment the SBOM (SC-03) lists "
        "(default: the interpreter a stack the harness started runs the app with)",
    )
    containers: list[str] = Field(
        default_factory=list, description="Containerfiles/Dockerfiles, or folders of them (SC-04)"
    )
    manifests: list[str] = Field(
        default_factory=list, description="Kubernetes manifests, or folders of them (SC-04)"
    )
    deploy_checks: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_DEPLOY_CHECKS.items()},
        description="property -> checkov check ids whose failure fails SC-04",
    )
    workflows: list[str] = Field(
        default_factory=list, description="CI workflow files, or folders of them (SC-05)"
    )
    variants: dict[str, FileVariants] = Field(
        default_factory=dict,
        description="fault kind (`source`, `deploy`: the registry's `services`) -> where its "
        "file variants live; a seeded fault of that kind that is switched on is laid over "
        "`root` before the files are read",
    )
    tool_timeout_s: float = Field(
        default=300.0, gt=0, description="wall deadline of each scanner run"
    )
