"""SC-03: a CycloneDX SBOM of the target's Python environment, validated against the schema."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from harness.supply_chain.tools import Scanners, require_tool
from harness.verdicts import NotEvaluated


class Sbom(BaseModel):
    path: Path
    spec_version: str
    components: int
    errors: list[str]


def build_sbom(scanners: Scanners, python: str, work: Path) -> Path:
    """cyclonedx-py's SBOM of the environment ``python`` runs in (JSON, CycloneDX 1.6)."""
    binary = require_tool("cyclonedx-py", "pip install cyclonedx-bom")
    out = work / "sbom.cdx.json"
    # --no-validate: validate_sbom checks the document with the same schema validator, once
    # (validating twice doubled this control's time).
    argv = [binary, "environment", "--of", "JSON", "--sv", "1.6", "--no-validate", "-o", str(out)]
    run = scanners.run([*argv, python], cwd=work)
    if run.returncode != 0 or not out.is_file():
        raise NotEvaluated(
            f"cyclonedx-py could not list the environment of {python} (exit {run.returncode}): "
            + (run.output.strip().splitlines() or ["no output"])[-1][:300]
        )
    return out


def validate_sbom(path: Path) -> Sbom:
    """Schema errors of a CycloneDX JSON document (none: it validates), with its figures."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except ValueError as exc:
        return Sbom(path=path, spec_version="?", components=0, errors=[f"not JSON: {exc}"])
    spec = str(document.get("specVersion", "")) if isinstance(document, dict) else ""
    versions = {v.to_version(): v for v in SchemaVersion}
    if spec not in versions:
        return Sbom(
            path=path, spec_version=spec or "?", components=0,
            errors=[f"specVersion {spec!r} is not a CycloneDX version this validator knows"],
        )  # fmt: skip
    error = JsonStrictValidator(versions[spec]).validate_str(text)
    components = document.get("components", [])
    return Sbom(
        path=path,
        spec_version=spec,
        components=len(components) if isinstance(components, list) else 0,
        errors=[str(error)[:1000]] if error is not None else [],
    )
