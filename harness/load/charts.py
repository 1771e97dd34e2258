"""The run's charts (SVG text): throughput, latency percentiles and error ratio over time, and
the database connections PERF-03 counted."""

from __future__ import annotations

from harness.load.runner import LoadRun
from harness.report.svg_chart import Series, line_chart


def charts(run: LoadRun) -> dict[str, str]:
    """Title -> SVG; empty when Locust wrote no history."""
    history = run.history
    out: dict[str, str] = {}
    if history:
        out["throughput over time"] = line_chart(
            "Throughput",
            [
                Series(name="requests/s", points=[(p.t_s, p.rps) for p in history]),
                Series(name="failures/s", points=[(p.t_s, p.failures_per_s) for p in history]),
            ],
            x_label="seconds",
            y_label="per second",
        )
        out["latency percentiles over time"] = line_chart(
            "Latency percentiles",
            [
                Series(name=name, points=[(p.t_s, v) for p in history if (v := getattr(p, key))])
                for name, key in (("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))
            ],
            x_label="seconds",
            y_label="ms",
        )
        out["error ratio over time"] = line_chart(
            "Error ratio",
            [
                Series(
                    name="failures / requests (%)",
                    points=[(p.t_s, 100 * p.failures_per_s / p.rps) for p in history if p.rps],
                )
            ],
            x_label="seconds",
            y_label="%",
        )
    if run.db is not None and run.db.series:
        out["database connections over time"] = line_chart(
            "Database connections held by the app",
            [Series(name="connections", points=[(t, float(n)) for t, n in run.db.series])],
            x_label="seconds",
            y_label="connections",
        )
    return out
