"""summary.md: the Markdown digest CI appends to the job page ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.report.common import AREA_TITLES, BAD, STATUS_ORDER, by_area, changes, verdict
from harness.report.common import effective_status as _status
from harness.results import Results
from harness.roadmap import ItemStatus, RoadmapCoverage

# Enough to keep target text from becoming markup, links or table cells; parentheses and the
# like are left alone because nothing opens a link once "[" is escaped.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: str | None, limit: int = 300) -> str:
    """Escape target-supplied text for a Markdown table cell (one line, no HTML, no links)."""
    flat = " ".join((text or "").split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def render(results: Results, previous: Results | None = None) -> str:
    ok, headline = verdict(results)
    lines = [f"## Compliance report: {'✅' if ok else '❌'} {md(headline)}", ""]
    run = results.run
    lines.append(
        f"Run `{md(run.id)}` · profile {md(run.profile or '-')} · target {md(run.target or '-')}"
        f" · {run.duration_s:.0f} s"
        + (f" · faults {md(', '.join(run.faults))}" if run.faults else "")
    )
    lines.append("")
    if run.safety:
        lines += [f"**{md(run.safety[0])}** · " + " · ".join(md(s) for s in run.safety[1:]), ""]
        if run.skipped:
            lines += ["Held back by the safety mode or scope.exclude:", ""]
            lines += [f"- {md(s)}" for s in run.skipped] + [""]
    if results.gate is not None and results.gate.reasons:
        lines += ["### Gate", ""]
        for r in results.gate.reasons:
            lines.append(f"- **{md(r.subject)}** ({md(r.kind)}): {md(r.message)}")
        lines.append("")
    statuses = list(STATUS_ORDER)
    lines += ["### By area", ""]
    lines.append("| area | " + " | ".join(s.value for s in statuses) + " |")
    lines.append("|---|" + "---:|" * len(statuses))
    for area, tally in by_area(results):
        cells = " | ".join(str(tally[s]) if tally[s] else "·" for s in statuses)
        lines.append(f"| {md(AREA_TITLES.get(area, area))} | {cells} |")
    lines.append("")
    bad = [c for c in results.controls if _status(results, c) in BAD]
    if bad:
        lines += ["### Failed controls", "", "| control | severity | status | reason |"]
        lines.append("|---|---|---|---|")
        for control in bad:
            lines.append(
                f"| {md(control.id)} {md(control.title)} | {md(control.severity)} "
                f"| {md(control.status.value)} | {md(control.reason)} |"
            )
        lines.append("")
    diff = changes(results, previous)
    if diff is not None and diff.any:
        lines += [f"### Changes since {md(diff.previous_run)}", ""]
        for label, entries in (
            ("new failure", diff.new_failures),
            ("fixed", diff.fixed),
            ("changed", diff.changed),
        ):
            lines += [f"- {label}: {md(cid)} {md(old)} → {md(new)}" for cid, old, new in entries]
        lines.append("")
    if results.efficacy is not None:
        s = results.efficacy.summary
        lines += [
            "### Efficacy",
            "",
            f"caught {s.caught}/{s.total} faults, {s.pending} pending, {s.inconclusive} "
            f"inconclusive, {s.false_alarms} false alarm" + ("" if s.false_alarms == 1 else "s"),
            "",
        ]
        if not results.efficacy.collateral_measured:
            lines += ["Collateral not measured (only each fault's own controls ran).", ""]
        for fault in results.efficacy.faults:
            if fault.collateral:
                lines.append(f"- {md(fault.name)} also failed: {md(', '.join(fault.collateral))}")
    if results.roadmap is not None:
        lines += roadmap_lines(results.roadmap)
    if results.findings:
        lines.append(f"{len(results.findings)} finding(s); see results.sarif and report.html.")
    if results.run.signing_key is not None:
        lines += [
            "",
            f"Sealed with {md(results.run.signing_key.algorithm)} key "
            f"{md(results.run.signing_key.fingerprint)} (harness verify checks the run folder).",
        ]
    return "\n".join(lines).rstrip() + "\n"


def roadmap_lines(roadmap: RoadmapCoverage) -> list[str]:
    """The roadmap roll-up, then every item not met (the full list is in report.html)."""
    s = roadmap.summary
    lines = ["### Roadmap coverage", ""]
    for group, label in (("criteria", "acceptance criteria"), ("tasks", "tasks")):
        lines.append(
            f"- {label}: {s.get(f'{group}_met', 0)} met, {s.get(f'{group}_not_met', 0)} not met, "
            f"{s.get(f'{group}_not_evaluated', 0)} not evaluated, "
            f"{s.get(f'{group}_uncovered', 0)} uncovered (of {s.get(group, 0)})"
        )
    lines.append("")
    not_met = [item for item in roadmap.items if item.status == ItemStatus.NOT_MET]
    if not_met:
        lines += ["| item | roadmap | controls |", "|---|---|---|"]
        for item in not_met:
            lines.append(f"| {md(item.id)} | {md(item.text)} | {md(item.reason)} |")
        lines.append("")
    return lines


def write(results: Results, path: Path, previous: Results | None = None) -> Path:
    path.write_text(render(results, previous), encoding="utf-8")
    return path
