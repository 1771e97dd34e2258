"""DOC-01: the runbook, rollback, secret-rotation and security documents exist, say something,
name the commands their drills run and are no older than the files defining those commands.

The documents are read through ``harness.probes.documents.FileView``, so a seeded file variant
that is on (an efficacy run's fault) is what the check reads.
"""

from __future__ import annotations

import pytest

from harness.probes import opdocs
from harness.probes.documents import file_view
from harness.verdicts import NotApplicable

pytestmark = pytest.mark.stack


@pytest.mark.control("DOC-01")
def test_operational_documents_are_current(target, stack, evidence):
    profile = target.profile
    if not profile.roadmap.documents:
        raise NotApplicable(
            "the profile names no operational documents (roadmap.documents): set the runbook, "
            "rollback, secret_rotation and security documents' paths"
        )
    view = file_view(profile, stack)
    checks = [opdocs.check(spec, profile, view) for spec in profile.roadmap.documents]
    missing = opdocs.missing_roles(profile)
    evidence.json(
        "operational documents",
        {
            "overlays": view.describe(),
            "roles_without_a_document": missing,
            "documents": [c.model_dump() for c in checks],
        },
    )
    for c in checks:
        if c.changed is not None:
            evidence.text(f"{c.role}: {c.path}", _excerpt(c.read))
    problems = [p for c in checks for p in c.problems]
    problems += [f"the profile names no {role} document" for role in missing]
    named = sum(len(c.commands_named) for c in checks)
    assert not problems, f"{len(problems)} problem(s) in {len(checks)} document(s): " + "; ".join(
        problems
    )
    evidence.figure("drill commands named", named, "commands")


def _excerpt(path: str, limit: int = 3000) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read(limit)
