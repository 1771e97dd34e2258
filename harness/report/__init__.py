"""Reports rendered from results.json alone: HTML, JUnit XML, SARIF and a Markdown summary.

Every renderer takes a ``Results`` model and nothing else (plus, for the HTML report, the
previous run's results for the change list), so ``harness report`` can re-render any old run.
"""

from __future__ import annotations

from pathlib import Path

from harness.results import Results

REPORT_FILES = ("report.html", "junit.xml", "results.sarif", "summary.md")


def render_all(
    results: Results, out_dir: Path, previous: Results | None = None
) -> list[Path]:
    """Write every report into ``out_dir``; return the paths written."""
    from harness.report import html, junit, sarif, summary

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        html.write(results, out_dir / "report.html", previous=previous, run_dir=out_dir),
        junit.write(results, out_dir / "junit.xml"),
        sarif.write(results, out_dir / "results.sarif"),
        summary.write(results, out_dir / "summary.md", previous=previous),
    ]
    return written
