"""SC-04: checkov over the target's Containerfiles and Kubernetes manifests.

checkov recognises container files by the name ``Dockerfile`` and does not resolve build
arguments, so each container file is staged as ``<name>/Dockerfile`` with the defaults of its
``ARG``s substituted into ``FROM``: the base image judged is the one a plain build uses.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from harness.findings import Confidence, Finding, Severity
from harness.supply_chain.tools import Scanners, require_tool
from harness.verdicts import NotEvaluated

ENGINE = "checkov"
CONTAINER_PATTERNS = (
    "Dockerfile",
    "Dockerfile.*",
    "*.Dockerfile",
    "Containerfile",
    "*.Containerfile",
)
MANIFEST_PATTERNS = ("*.yaml", "*.yml", "*.json")
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$", re.MULTILINE)
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Check(BaseModel):
    id: str
    name: str
    file: str = Field(description="the profile's name of the file")
    resource: str = ""
    lines: list[int] = Field(default_factory=list)


class DeployScan(BaseModel):
    failed: list[Check]
    passed: list[Check]
    files: int
    parsing_errors: list[str] = Field(default_factory=list)


def substitute_args(text: str) -> str:
    """``FROM ${BASE}`` -> ``FROM <the ARG's default>`` for ARGs declared with a default."""
    defaults = dict(_ARG.findall(text))

    def resolve(line: str) -> str:
        if not line.lstrip().upper().startswith("FROM "):
            return line
        return _REF.sub(lambda m: defaults.get(m.group(1) or m.group(2), m.group(0)), line)

    return "\n".join(resolve(line) for line in text.split("\n"))


def scan_deploy_files(
    scanners: Scanners,
    containers: Sequence[tuple[str, Path]],
    manifests: Sequence[tuple[str, Path]],
    work: Path,
) -> DeployScan:
    binary = require_tool("checkov", "scripts/setup makes .venv-checkov, or pip install checkov")
    stage = work / "checkov-files"
    shutil.rmtree(stage, ignore_errors=True)
    names: dict[str, str] = {}
    argv = [binary]
    for index, (name, path) in enumerate(containers):
        staged = stage / f"c{index}" / "Dockerfile"
        staged.parent.mkdir(parents=True)
        staged.write_text(substitute_args(path.read_text(encoding="utf-8")), encoding="utf-8")
        names[staged.relative_to(stage).as_posix()] = name
        argv += ["-f", staged.relative_to(stage).as_posix()]
    for index, (name, path) in enumerate(manifests):
        staged = stage / f"m{index}" / path.name
        staged.parent.mkdir(parents=True)
        shutil.copyfile(path, staged)
        names[staged.relative_to(stage).as_posix()] = name
        argv += ["-f", staged.relative_to(stage).as_posix()]
    out = work / "checkov-out"
    argv += [
        "--framework", "dockerfile", "kubernetes", "-o", "json", "--output-file-path", str(out),
        "--skip-download", "--compact",
    ]  # fmt: skip
    # No mapping download (it would call a vendor API): the checks' own ids are enough.
    run = scanners.run(argv, cwd=stage, env={"BC_SKIP_MAPPING": "TRUE"})
    report = out / "results_json.json"
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotEvaluated(
            f"checkov wrote no readable report (exit {run.returncode}): {exc}"
        ) from None
    blocks = document if isinstance(document, list) else [document]
    failed: list[Check] = []
    passed: list[Check] = []
    errors: list[str] = []
    for block in blocks:
        results = block.get("results", {}) if isinstance(block, dict) else {}
        failed += [_check(c, names) for c in results.get("failed_checks", [])]
        passed += [_check(c, names) for c in results.get("passed_checks", [])]
        errors += [names.get(_staged(p), p) for p in results.get("parsing_errors", [])]
    return DeployScan(failed=failed, passed=passed, files=len(names), parsing_errors=errors)


def _staged(path: str) -> str:
    return path.lstrip("/").removeprefix("./")


def _check(raw: dict[str, object], names: dict[str, str]) -> Check:
    path = _staged(str(raw.get("file_path", "")))
    lines = raw.get("file_line_range")
    return Check(
        id=str(raw.get("check_id", "")),
        name=str(raw.get("check_name", "")),
        file=names.get(path, path),
        resource=str(raw.get("resource", "")),
        lines=[int(n) for n in lines] if isinstance(lines, list) else [],
    )


def to_finding(check: Check, prop: str) -> Finding:
    return Finding(
        rule=f"checkov:{check.id}",
        title=f"{prop}: {check.id} {check.name}",
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        engine=ENGINE,
        owasp="A05",
        url=check.file + (f":{check.lines[0]}" if check.lines else ""),
        parameter=check.resource or None,
    )
