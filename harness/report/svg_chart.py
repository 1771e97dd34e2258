"""A small line chart as a standalone SVG document, for figures over time in the report.

Every text that reaches the SVG (title, axis label, series names: route names come from the
target) is XML-escaped with control characters replaced (``xml_text``), and numbers are
formatted, never interpolated raw, so a hostile route name cannot open an element. The report
shows the file as an ``<img>`` data URI: an image context runs no script whatever the file
holds, and the report's CSP allows ``img-src data:`` only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

from pydantic import BaseModel, Field

from harness.report.common import xml_text

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 30, 36
COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")
MAX_POINTS = 2000


class Series(BaseModel):
    name: str
    points: list[tuple[float, float]] = Field(default_factory=list)


def _text(value: str, limit: int = 60) -> str:
    value = xml_text(value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return escape(value, {'"': "&quot;"})


def _ticks(top: float) -> list[float]:
    """About five round steps from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [step * i for i in range(int(math.ceil(top / step)) + 1)]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.3g}"


def line_chart(title: str, series: Sequence[Series], *, x_label: str, y_label: str) -> str:
    """The chart as SVG text; series without points are listed in the legend only."""
    finite = [
        (x, y)
        for s in series
        for x, y in s.points[:MAX_POINTS]
        if math.isfinite(x) and math.isfinite(y)
    ]
    x_max = max((x for x, _ in finite), default=1.0) or 1.0
    ticks = _ticks(max((y for _, y in finite), default=1.0))
    y_max = ticks[-1] or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + plot_w * max(0.0, x) / x_max

    def sy(y: float) -> float:
        return TOP + plot_h * (1 - max(0.0, y) / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{_text(title, 80)}</text>',
    ]
    for tick in ticks:
        y = sy(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
        f"{_text(x_label)} (0 – {_number(x_max)})</text>"
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{_text(y_label)}</text>'
    )
    for index, item in enumerate(series[: len(COLOURS)]):
        colour = COLOURS[index]
        points = [
            f"{sx(x):.1f},{sy(y):.1f}"
            for x, y in item.points[:MAX_POINTS]
            if math.isfinite(x) and math.isfinite(y)
        ]
        if len(points) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" '
                f'points="{" ".join(points)}"/>'
            )
        elif points:
            cx, cy = points[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        legend_y = TOP + 14 * index + 8
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 10}" y="{legend_y - 8}" width="10" height="10" '
            f'fill="{colour}"/><text x="{WIDTH - RIGHT + 24}" y="{legend_y + 1}">'
            f"{_text(item.name, 20)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
