"""Reports rendered from results.json alone: HTML, JUnit XML, SARIF and a Markdown summary.

Every renderer takes a ``Results`` model and nothing else (plus, for the HTML report, the
previous run's results for the change list), so ``harness report`` can re-render any old run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.results import Results

if TYPE_CHECKING:
    from harness.history import Trends

REPORT_FILES = ("report.html", "junit.xml", "results.sarif", "summary.md")


def render_all(
    results: Results,
    out_dir: Path,
    previous: Results | None = None,
    run_dir: Path | None = None,
    trends: Trends | None = None,
) -> list[Path]:
    """Write every report into ``out_dir``; return the paths written.

    ``run_dir`` is where results.json and its evidence live (default ``out_dir``): the HTML
    report inlines evidence excerpts from there. Without ``previous``, the run named in
    ``run.previous_id`` (a sibling folder) is used for the change list when it exists. Rendering
    never touches the manifest: ``harness.pipeline`` seals the run folder after rendering.
    ``trends`` (from the run history) adds the verdict history and sparklines to the HTML.
    """
    # Imported here so that importing the package (for REPORT_FILES) stays cheap.
    from harness.report.html import write as write_html
    from harness.report.junit import write as write_junit
    from harness.report.sarif import write as write_sarif
    from harness.report.summary import write as write_summary

    run_dir = run_dir or out_dir
    if previous is None:
        previous = _sibling_previous(results, run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        write_html(
            results, out_dir / "report.html", previous=previous, run_dir=run_dir, trends=trends
        ),
        write_junit(results, out_dir / "junit.xml"),
        write_sarif(results, out_dir / "results.sarif"),
        write_summary(results, out_dir / "summary.md", previous=previous),
    ]
    return written


def _sibling_previous(results: Results, run_dir: Path) -> Results | None:
    from harness.results import RESULTS_NAME, ResultsError, load_results

    if not results.run.previous_id:
        return None
    path = run_dir.resolve().parent / results.run.previous_id / RESULTS_NAME
    try:
        return load_results(path) if path.is_file() else None
    except ResultsError:
        return None
