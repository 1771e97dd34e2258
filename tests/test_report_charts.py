"""Charts reach the HTML report as images (an SVG in an <img> runs no script)."""

from __future__ import annotations

import base64
from pathlib import Path

from harness.report.html import _evidence_item
from harness.report.svg_chart import Series, line_chart
from harness.results import EvidenceRef


def test_an_svg_chart_is_inlined_as_an_image(tmp_path: Path) -> None:
    chart = line_chart("Throughput", [Series(name="rps", points=[(0, 1), (1, 3)])],
                       x_label="s", y_label="rps")  # fmt: skip
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "chart.svg").write_text(chart, encoding="utf-8")
    ref = EvidenceRef(kind="file", title="throughput", path="evidence/chart.svg", sha256="0" * 64)
    entry = _evidence_item(ref, tmp_path)
    prefix = "data:image/svg+xml;base64,"
    assert entry["data_uri"].startswith(prefix)
    assert base64.b64decode(entry["data_uri"][len(prefix) :]).decode() == chart
    assert entry["excerpt"] is None
