"""DOC-01's document checks and the file view they read through, on a small git work tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.probes import opdocs
from harness.probes.documents import VARIANTS_ENV, FileView, file_view, last_change
from harness.profile import Profile

ROLLBACK = "# Rollback\n\nRun `python -m app downgrade --release 1`, then start release 1.\n"


def git(root: Path, *args: str, when: int = 1_700_000_000) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": f"@{when} +0000",
        "GIT_COMMITTER_DATE": f"@{when} +0000",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.test",
    }
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def commit(root: Path, files: dict[str, str], when: int) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
        git(root, "add", name)
    git(root, "commit", "-q", "-m", "x", when=when)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    commit(tmp_path, {"app/cli.py": "commands\n"}, when=1_700_000_000)
    commit(
        tmp_path,
        {
            "docs/rollback.md": ROLLBACK,
            "docs/rotate.md": "# Keys\n\nRun python -m app rotate-keys every 90 days.\n",
        },
        when=1_700_000_100,
    )
    return tmp_path


def profile(**roadmap: object) -> Profile:
    documents = [
        {
            "role": "rollback",
            "path": "docs/rollback.md",
            "commands": ["python -m app downgrade --release 1"],
            "changed_with": ["app/cli.py"],
        },
        {"role": "secret_rotation", "path": "docs/rotate.md", "changed_with": ["app/cli.py"]},
    ]
    return Profile.model_validate(
        {
            "operations": {"rotate_keys": ["python", "-m", "app", "rotate-keys"]},
            "roadmap": {"documents": documents, "required_documents": ["rollback"], **roadmap},
        }
    )


def checks(p: Profile, view: FileView) -> list[opdocs.DocumentCheck]:
    return [opdocs.check(spec, p, view) for spec in p.roadmap.documents]


def test_current_documents_pass(repo: Path) -> None:
    p = profile()
    results = checks(p, FileView(root=repo))
    assert [r.problems for r in results] == [[], []]
    # The rotate command comes from the profile's own operations.rotate_keys.
    assert results[1].commands_named == ["python -m app rotate-keys"]
    assert results[0].changed is not None and results[0].changed.how == "git commit"
    assert opdocs.missing_roles(p) == []


def test_a_document_older_than_its_commands_fails(repo: Path) -> None:
    commit(repo, {"app/cli.py": "commands, changed\n"}, when=1_700_000_200)
    problems = checks(profile(), FileView(root=repo))[0].problems
    assert len(problems) == 1 and "before" in problems[0] and "app/cli.py" in problems[0]


def test_an_uncommitted_edit_counts_from_its_file_time(repo: Path) -> None:
    commit(repo, {"app/cli.py": "commands, changed\n"}, when=1_700_000_200)
    (repo / "docs/rollback.md").write_text(ROLLBACK + "\nReviewed.\n")
    result = checks(profile(), FileView(root=repo))[0]
    assert result.problems == []
    assert result.changed is not None and result.changed.how.startswith("file time")


def test_missing_command_empty_and_absent_documents_fail(repo: Path) -> None:
    (repo / "docs/rollback.md").write_text(ROLLBACK.replace("downgrade", "down grade"))
    (repo / "docs/rotate.md").write_text("# Keys\n\n---\n")
    first, second = checks(profile(), FileView(root=repo))
    assert "does not name 'python -m app downgrade --release 1'" in first.problems[0]
    assert "empty" in second.problems[0]
    (repo / "docs/rotate.md").unlink()
    assert "no such file" in checks(profile(), FileView(root=repo))[1].problems[0]
    p = profile(required_documents=["rollback", "runbook", "security"])
    assert opdocs.missing_roles(p) == ["runbook", "security"]


def test_commands_match_across_whitespace_not_inside_words() -> None:
    assert opdocs.names_command("run\n    python  -m app x", "python -m app x")
    assert not opdocs.names_command("python -m app xy", "python -m app x")


class FaultyStack:
    """A stack the harness runs (Heals): its faults are what overlays the files."""

    def __init__(self, faults: list[str]) -> None:
        self.faults = faults

    def baseline(self) -> tuple[str, list[str]]:
        return "2", self.faults

    def heal(self, release: str, faults: list[str]) -> list[str]:
        return []


def test_a_fault_variant_is_read_while_its_fault_is_on(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(VARIANTS_ENV, raising=False)
    variant = repo / "variants" / "docs_broken" / "docs" / "rollback.md"
    variant.parent.mkdir(parents=True)
    variant.write_text("# Rollback\n\nAsk someone.\n")
    p = profile(variants={".": "variants"})
    on = file_view(p, FaultyStack(["docs_broken"]), root=repo)
    result = checks(p, on)[0]
    assert result.variant == "fault docs_broken" and result.problems
    off = file_view(p, FaultyStack([]), root=repo)
    assert checks(p, off)[0].problems == []
    assert file_view(p, object(), root=repo).overlays == []  # not a stack the harness runs
    monkeypatch.setenv(VARIANTS_ENV, "docs=variants/docs_broken/docs")
    by_env = file_view(p, object(), root=repo)
    assert checks(p, by_env)[0].variant == VARIANTS_ENV


def test_last_change_outside_git(tmp_path: Path) -> None:
    (tmp_path / "f.md").write_text("x")
    assert last_change(tmp_path / "f.md").how.startswith("file time")
    assert last_change(tmp_path / "nope.md").when is None
