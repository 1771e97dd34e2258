"""The CI workflows pass actionlint and zizmor (offline), and keep their safety properties."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = [ROOT / ".github" / "workflows" / name for name in ("ci.yml", "nightly.yml")]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
        return found
    return str(path)


def test_actionlint(tmp_path: Path) -> None:
    # actionlint wants a git checkout; a throwaway one keeps this independent of the repo state.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    target = tmp_path / ".github" / "workflows"
    target.mkdir(parents=True)
    for workflow in WORKFLOWS:
        shutil.copy(workflow, target / workflow.name)
    done = subprocess.run(
        [tool("actionlint"), "-no-color", *(f".github/workflows/{w.name}" for w in WORKFLOWS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_offline() -> None:
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_hygiene(workflow: Path) -> None:
    text = workflow.read_text()
    assert re.search(r"^permissions: \{\}$", text, re.MULTILINE)
    for use in re.findall(r"uses: (\S+)", text):
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", use), use
    assert text.count("persist-credentials: false") == text.count("actions/checkout@")
    # No expression expands inside a shell script (template injection).
    for block in re.findall(r"run: \|\n((?:\s{10,}.*\n)+)|run: (.*)", text):
        assert "${{" not in "".join(block)
