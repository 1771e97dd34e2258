"""The report's trends: each control's verdict over the last runs, figures as sparklines.

Everything here is numbers and status names computed from the history (``harness.history``);
the template draws them as inline SVG, so the report stays one self-contained file.
"""

from __future__ import annotations

from typing import Any

from harness.history import Series, Trends

SPARK_W, SPARK_H, PAD = 160, 32, 3


def sparkline(values: list[float | None]) -> dict[str, Any]:
    """Points of a polyline (and dots) scaled into SPARK_W x SPARK_H; gaps stay gaps."""
    present = [v for v in values if v is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    span = high - low
    step = (SPARK_W - 2 * PAD) / max(1, len(values) - 1)
    segments: list[list[tuple[float, float]]] = [[]]
    dots = []
    for i, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = PAD + i * step
        # A steady figure is a level line through the middle, not a floor.
        share = (value - low) / span if span else 0.5
        y = SPARK_H - PAD - share * (SPARK_H - 2 * PAD)
        segments[-1].append((round(x, 1), round(y, 1)))
        dots.append((round(x, 1), round(y, 1)))
    return {
        "width": SPARK_W,
        "height": SPARK_H,
        "lines": [" ".join(f"{x},{y}" for x, y in seg) for seg in segments if len(seg) > 1],
        "dots": dots,
        "last": present[-1] if present else None,
        "low": low,
        "high": high,
    }


def _series(series: Series) -> dict[str, Any]:
    label = f"{series.control} {series.name}".strip()
    return {"label": label, "unit": series.unit, "spark": sparkline(series.values)}


def trend_context(trends: Trends | None) -> dict[str, Any] | None:
    if trends is None or not trends.runs:
        return None
    changed = {
        cid: statuses
        for cid, statuses in trends.verdicts.items()
        if len({s for s in statuses if s is not None}) > 1
    }
    efficacy = [None if v is None else round(100 * v, 1) for v in trends.efficacy]
    return {
        "runs": trends.runs,
        "starts": trends.starts,
        "verdicts": trends.verdicts,
        "changed": sorted(changed),
        "figures": [_series(s) for s in trends.figures],
        "efficacy": sparkline(efficacy) if any(v is not None for v in efficacy) else None,
    }
