"""A drill's timeline as a standalone SVG: every request over time, coloured by its answer,
with the drill's steps marked.

Each request is a dot at (time sent, latency); a request the target did not answer sits on the
top edge in black. Steps are numbered dashed vertical lines, their labels listed beside the
chart (labels on the lines of steps a second apart would overlap). Every text that reaches
the SVG (step labels, release names: both can carry what the target sent) goes through
``xml_text`` and XML escaping, and numbers are formatted, never interpolated raw; the report
shows the file as an ``<img>`` data URI, where an SVG runs no script.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from harness.drills.prober import Event, Sample
from harness.report.common import xml_text

WIDTH, MIN_HEIGHT = 900, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 300, 44, 40
MAX_DOTS = 4000
COLOURS = {
    "2xx/3xx": "#16a34a",
    "4xx": "#d97706",
    "5xx": "#dc2626",
    "no answer": "#111827",
}


def status_class(status: int) -> str:
    if status == 0:
        return "no answer"
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return "2xx/3xx"


def _text(value: str, limit: int = 48) -> str:
    value = xml_text(value)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return escape(value, {'"': "&quot;"})


def render(title: str, samples: Sequence[Sample], events: Sequence[Event]) -> str:
    """The timeline as SVG text."""
    shown = list(samples)[:MAX_DOTS]
    t_max = max([s.end for s in shown] + [e.t for e in events] + [1.0])
    answered = [s.latency_ms for s in shown if s.status]
    y_max = max(answered + [1.0]) * 1.1
    height = max(MIN_HEIGHT, TOP + 100 + 14 * len(events) + BOTTOM)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + plot_w * (t / t_max)

    def y(ms: float) -> float:
        return TOP + plot_h * (1 - min(ms, y_max) / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{_text(title, 80)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#6b7280"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#6b7280"/>',
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
        f"seconds since the prober started (0 to {t_max:.1f})</text>",
        f'<text x="12" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 12 '
        f'{TOP + plot_h / 2:.1f})" text-anchor="middle">latency ms (max {y_max:.0f})</text>',
    ]
    for i, event in enumerate(events, start=1):
        # Steps often come seconds apart: numbered lines, labels listed in the legend.
        ex = x(event.t)
        parts.append(
            f'<line x1="{ex:.1f}" y1="{TOP}" x2="{ex:.1f}" y2="{TOP + plot_h}" stroke="#2563eb" '
            'stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{ex + 2:.1f}" y="{TOP - 4 - 10 * ((i - 1) % 2)}" fill="#2563eb">{i:d}</text>'
        )
    for s in shown:
        kind = status_class(s.status)
        cy = TOP if s.status == 0 else y(s.latency_ms)
        parts.append(f'<circle cx="{x(s.t):.1f}" cy="{cy:.1f}" r="2.2" fill="{COLOURS[kind]}"/>')
    counts = {kind: sum(1 for s in shown if status_class(s.status) == kind) for kind in COLOURS}
    for i, (kind, colour) in enumerate(COLOURS.items()):
        ly = TOP + 14 + i * 16
        parts.append(f'<circle cx="{WIDTH - RIGHT + 14}" cy="{ly - 4}" r="4" fill="{colour}"/>')
        parts.append(
            f'<text x="{WIDTH - RIGHT + 24}" y="{ly}">{_text(kind)}: {counts[kind]:d}</text>'
        )
    for i, event in enumerate(events, start=1):
        ly = TOP + 86 + i * 14
        parts.append(
            f'<text x="{WIDTH - RIGHT + 8}" y="{ly}" fill="#2563eb">{i:d} '
            f"({event.t:.1f} s) {_text(event.label, 34)}</text>"
        )
    if len(samples) > len(shown):
        parts.append(
            f'<text x="{WIDTH - RIGHT + 8}" y="{TOP + 76}">first {len(shown):d} of '
            f"{len(samples):d}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
