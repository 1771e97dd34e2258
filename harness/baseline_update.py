"""``harness baseline update``'s writer: a run's findings as the accepted baseline.

The file is the JSON object form ``harness.baseline`` reads (``{"findings": [{"id": ...}]}``),
with each finding's rule, title, severity and control kept beside its id so a reviewer can read
the diff. Synthesized findings (a failed control restated) are left out: the gate judges the
control itself.
"""

from __future__ import annotations

from pathlib import Path

from harness.baseline import load_baseline
from harness.results import Results, write_json_atomic


def baseline_entries(results: Results) -> list[dict[str, str | None]]:
    entries = {
        f.id: {
            "id": f.id,
            "rule": f.rule,
            "title": f.title,
            "severity": f.severity.value,
            "control": f.control,
        }
        for f in results.findings
        if not f.synthesized
    }
    return [entries[key] for key in sorted(entries)]


def write_baseline(results: Results, path: Path) -> tuple[set[str], set[str]]:
    """Write the baseline; return (ids added, ids dropped) against the file it replaces."""
    before = load_baseline(path) if path.is_file() else set()
    entries = baseline_entries(results)
    write_json_atomic(
        path,
        {
            "description": "accepted findings (harness baseline update); the gate fails on others",
            "run": results.run.id,
            "findings": entries,
        },
    )
    now = {str(e["id"]) for e in entries}
    return now - before, before - now
