"""Exports of a run for auditors and GRC tools: OSCAL, HDF and DefectDojo.

Each exporter reads a ``Results`` model and nothing else, so any old run exports again. The
pipeline writes every format into the run folder before it seals it (``write_exports``);
``harness export`` writes one format anywhere and, with ``--check``, validates it with the tool
its consumers use (``harness.export.checks``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from harness.results import Results, write_json_atomic

Format = Literal["oscal", "hdf", "defectdojo"]
FORMATS: tuple[Format, ...] = ("oscal", "hdf", "defectdojo")
# The file each format gets in the run folder.
EXPORT_FILES: dict[Format, str] = {
    "oscal": "export/oscal-assessment-results.json",
    "hdf": "export/hdf.json",
    "defectdojo": "export/defectdojo-findings.json",
}


def export_document(results: Results, fmt: Format) -> dict[str, Any]:
    """One format's document. Raises ``OscalUnavailable`` when trestle is missing."""
    if fmt == "oscal":
        from harness.export.oscal import document as oscal

        return oscal(results)
    if fmt == "hdf":
        from harness.export.hdf import document as hdf

        return hdf(results)
    from harness.export.defectdojo import document as defectdojo

    return defectdojo(results)


def write_exports(
    results: Results, folder: Path, echo: Callable[[str], None] | None = None
) -> list[Path]:
    """Every format into ``folder`` (the run folder); a format that cannot be built is said in
    one line and left out, the others are still written."""
    from harness.export.oscal import OscalUnavailable

    written = []
    for fmt in FORMATS:
        path = folder / EXPORT_FILES[fmt]
        try:
            data = export_document(results, fmt)
        except (OscalUnavailable, ValueError) as exc:
            path.unlink(missing_ok=True)
            if echo is not None:
                echo(f"harness: {fmt} export not written: {exc}".splitlines()[0])
            continue
        write_json_atomic(path, data)
        written.append(path)
    return written
