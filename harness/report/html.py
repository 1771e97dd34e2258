"""report.html: one self-contained file (inline CSS, SVG and one static script; no fetches).

Safety model: everything from the target or from results.json is rendered as autoescaped
Jinja2 text. The only markup the template receives from Python is the static filter script
(``templates/report.js``, our own file, no data in it), whose SHA-256 the Content-Security-
Policy pins, so even an escaping bug could not run a script: defence in depth.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.catalog import Refs
from harness.evidence import TEXT_EXTENSIONS
from harness.history import Trends
from harness.report.auditor import auditor_context
from harness.report.common import (
    AREA_TITLES,
    BAD,
    STATUS_ORDER,
    by_area,
    changes,
    counts,
    effective_status,
    verdict,
)
from harness.report.trends import trend_context
from harness.results import ControlResult, EvidenceRef, Results

TEMPLATES = Path(__file__).with_name("templates")
EXCERPT_CHARS = 4000
MAX_SCREENSHOT_BYTES = 2_000_000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def static_script() -> str:
    return (TEMPLATES / "report.js").read_text(encoding="utf-8")


def script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()


def content_security_policy(script: str) -> str:
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src '{script_hash(script)}'; base-uri 'none'; form-action 'none'"
    )


def _evidence_item(item: EvidenceRef, run_dir: Path | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": item.kind,
        "title": item.title,
        "path": item.path,
        "sha256": item.sha256,
        "excerpt": None,
        "data_uri": None,
        # A relative link only: results.json paths never become a scheme or an absolute path.
        "href": item.path if ":" not in item.path and not item.path.startswith("/") else None,
    }
    if run_dir is None:
        return entry
    root = run_dir.resolve()
    path = (root / item.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        entry["href"] = None
        return entry
    if item.kind == "screenshot":
        data = path.read_bytes()
        if data.startswith(_PNG_MAGIC) and len(data) <= MAX_SCREENSHOT_BYTES:
            entry["data_uri"] = "data:image/png;base64," + base64.b64encode(data).decode()
    elif path.suffix.lower() == ".svg":
        # Charts (harness.report.svg_chart): shown as an image, where an SVG runs no script.
        data = path.read_bytes()
        if len(data) <= MAX_SCREENSHOT_BYTES:
            entry["data_uri"] = "data:image/svg+xml;base64," + base64.b64encode(data).decode()
    elif path.suffix.lower() in TEXT_EXTENSIONS:
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS] + f"\n… [{len(text) - EXCERPT_CHARS} more characters]"
        entry["excerpt"] = text
    return entry


def _control(results: Results, c: ControlResult, run_dir: Path | None) -> dict[str, Any]:
    status = effective_status(results, c)
    reason = c.reason or ""
    try:
        refs = Refs.model_validate(c.refs).labels()
    except ValueError:
        refs = []
    return {
        "id": c.id,
        "title": c.title,
        "area": c.area,
        "area_title": AREA_TITLES.get(c.area, c.area),
        "severity": c.severity,
        "status": status.value,
        "raw_status": c.status.value,
        "claim": c.claim,
        "method": c.method,
        "refs": refs,
        "reason": reason,
        "short_reason": reason if len(reason) <= 120 else reason[:119] + "…",
        "duration_s": c.duration_s,
        "tests": [
            {
                "nodeid": t.nodeid,
                "outcome": t.outcome.value,
                "duration_s": t.duration_s,
                "message": t.message,
            }
            for t in c.tests
        ],
        "evidence": [_evidence_item(e, run_dir) for e in c.evidence],
    }


def _charts(results: Results) -> list[dict[str, Any]]:
    """One horizontal bar chart per figure name and unit; bars per control/test."""
    groups: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for figure in results.figures:
        label = figure.control or ""
        if figure.test:
            label = f"{label} {figure.test.rsplit('::', 1)[-1]}".strip()
        groups[(figure.name, figure.unit)].append((label or figure.name, figure.value))
    charts = []
    label_w, bar_w = 260, 420
    for (name, unit), values in groups.items():
        top = max((abs(v) for _, v in values), default=0.0) or 1.0
        bars = [
            {
                "label": label if len(label) <= 40 else label[:39] + "…",
                "y": 22 * i,
                "w": max(1.0, bar_w * abs(value) / top),
                "text": f"{value:,.4g} {unit}",
            }
            for i, (label, value) in enumerate(values[:40])
        ]
        charts.append(
            {
                "title": f"{name} ({unit})",
                "bars": bars,
                "label_w": label_w,
                "width": label_w + bar_w + 110,
                "height": 22 * len(bars) + 6,
            }
        )
    return charts


def render(
    results: Results,
    previous: Results | None = None,
    run_dir: Path | None = None,
    trends: Trends | None = None,
) -> str:
    ok, headline = verdict(results)
    script = static_script()
    areas = []
    for area, tally in by_area(results):
        total = sum(tally.values()) or 1
        areas.append(
            {
                "name": area,
                "title": AREA_TITLES.get(area, area),
                "tally": {s.value: n for s, n in tally.items()},
                "segments": [
                    {"status": s.value, "n": n, "pct": 100.0 * n / total}
                    for s, n in tally.items()
                    if n
                ],
            }
        )
    tally = counts(results)
    controls = [_control(results, c, run_dir) for c in results.controls]
    context = {
        "csp": content_security_policy(script),
        # Markup only for our own static file: it carries no data (see the module docstring).
        "script": Markup(script),  # noqa: S704
        "run": results.run,
        "schema_version": results.schema_version,
        "manifest": results.manifest,
        "ok": ok,
        "headline": headline,
        "gate": results.gate,
        "failed": [c for c in controls if c["status"] in {s.value for s in BAD}],
        "tiles": [(s.value, n) for s, n in tally.items() if n],
        "statuses": [s.value for s in STATUS_ORDER],
        "areas": areas,
        "controls": controls,
        "charts": _charts(results),
        "findings": [f.model_dump(mode="json") for f in results.findings],
        "changes": changes(results, previous),
        "efficacy": results.efficacy,
        "auditor": auditor_context(results, _folder_hint(run_dir)),
        "trends": trend_context(trends),
        "roadmap": results.roadmap,
    }
    return _environment().get_template("report.html.j2").render(**context)


def _folder_hint(run_dir: Path | None) -> str:
    # The folder's own name: the report may be read on another machine than the one it ran on.
    return f"reports/{run_dir.name}" if run_dir is not None else "<run folder>"


def write(
    results: Results,
    path: Path,
    previous: Results | None = None,
    run_dir: Path | None = None,
    trends: Trends | None = None,
) -> Path:
    text = render(results, previous, run_dir or path.parent, trends)
    path.write_text(text, encoding="utf-8")
    return path
