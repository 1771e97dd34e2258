"""SC-03: a CycloneDX SBOM of the target's Python environment, valid against the CycloneDX
schema, attached to the run (and so listed in its signed manifest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.supply_chain.sbom import build_sbom, validate_sbom
from harness.verdicts import NotApplicable


@pytest.mark.control("SC-03")
def test_sbom_of_the_environment(supply_chain, evidence):
    configured = supply_chain.settings.environment
    python = str(supply_chain.view.path(configured)) if configured else supply_chain.stack_python
    if python is None:
        raise NotApplicable(
            "the profile names no environment (supply_chain.environment) and no stack the "
            "harness started says which interpreter runs the app"
        )
    if not Path(python).is_file():
        raise NotApplicable(f"the target's interpreter {python} does not exist here")
    path = build_sbom(supply_chain.scanners, python, supply_chain.work("sc-03"))
    sbom = validate_sbom(path)
    evidence.file(path, "sbom.cdx")
    evidence.text(
        "summary",
        f"CycloneDX {sbom.spec_version} SBOM of the environment of {python}: "
        f"{sbom.components} components; schema validation: "
        + ("; ".join(sbom.errors) if sbom.errors else "valid")
        + "\n",
    )
    assert sbom.components > 0, f"the SBOM of {python} lists no component"
    assert not sbom.errors, "the SBOM does not validate: " + "; ".join(sbom.errors)
