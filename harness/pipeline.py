"""The one run pipeline: fold -> gate -> render -> seal, once per run.

Publishing also appends the run to the reports folder's history (the report's trends) and
writes the OSCAL, HDF and DefectDojo exports into the run folder, before the seal.

``harness run`` (through its child pytest), plain ``pytest suites/...`` and ``harness
efficacy`` (each of its runs) all end in ``finish_run``; ``harness report``, ``harness gate``
and the efficacy matrix's attachment change a finished run through ``republish``, which
renders and seals again through the same ``publish``. Sealing is always the last write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from harness import __version__
from harness.findings import Finding
from harness.gate import GateError, decide, describe
from harness.history import HISTORY_NAME, HistoryError, Trends, record, trends
from harness.outcomes import TestRecord, control_findings, fold_run
from harness.results import (
    Figure,
    Results,
    ResultsError,
    RunInfo,
    SigningInfo,
    summarise,
)
from harness.roadmap import coverage as roadmap_coverage
from harness.rundir import RunDir
from harness.runfacts import RunFacts
from harness.safety import skipped_controls
from harness.seal import SealError, SigningKey, seal, signing_key

Echo = Callable[[str], None]


class PipelineError(Exception):
    """A finished run cannot be re-published (no results.json, bad key); one line."""


def fold(run: RunDir, records: list[TestRecord], facts: RunFacts) -> Results:
    """results.json's content from the tests' records (no gate yet)."""
    hashes = run.evidence_hashes()
    controls, areas = fold_run(
        facts.catalog,
        records,
        strict=facts.strict,
        evidence_hashes=hashes,
        not_applicable=facts.not_applicable,
        only=facts.only,
    )
    reported = [
        _with_evidence(Finding.model_validate(f), record, hashes)
        for record in records
        for f in record.findings
    ]
    figures = [Figure.model_validate(f) for r in records for f in r.figures]
    previous = run.previous_results()
    ended = time.time()
    return Results(
        run=RunInfo(
            id=run.run_id,
            target=facts.target,
            profile=facts.profile,
            release=facts.release,
            harness_version=__version__,
            git_sha=facts.git_sha,
            start=_iso(facts.started),
            end=_iso(ended),
            duration_s=round(ended - facts.started, 3),
            pytest_args=facts.pytest_args,
            faults=facts.faults,
            strict_catalog=facts.strict,
            areas=areas,
            previous_id=previous.run.id if previous else None,
            safety=facts.safety,
            skipped=skipped_controls((c.id, c.status.value, c.reason) for c in controls),
        ),
        controls=controls,
        findings=control_findings(controls, reported, run.path),
        figures=figures,
        summary=summarise(controls),
        roadmap=roadmap_coverage({c.id: c.status.value for c in controls}),
    )


def finish_run(
    run: RunDir,
    records: list[TestRecord],
    facts: RunFacts,
    *,
    policy: Path | None,
    key: SigningKey,
    render: bool = True,
    echo: Echo | None = None,
) -> Results:
    """fold -> gate -> render -> seal, then point ``latest`` at the run.

    Raises GateError when the policy cannot be used (checked before the tests ran, so only a
    policy edited mid-run gets here); results.json is still written and sealed without a gate.
    """
    run.ensure()
    results = fold(run, records, facts)
    gate_error: GateError | None = None
    try:
        results.gate = decide(results, policy)
    except GateError as exc:
        gate_error = exc
    if echo is not None and results.gate is not None:
        for line in describe(results.gate):
            echo(line)
    publish(run, results, key=key, render=render, previous=run.previous_results(), echo=echo)
    run.update_latest()
    if gate_error is not None:
        raise gate_error
    return results


def publish(
    run: RunDir,
    results: Results,
    *,
    key: SigningKey,
    render: bool = True,
    previous: Results | None = None,
    echo: Echo | None = None,
) -> None:
    """Write results.json, render the reports from it, and seal the folder (the last write)."""
    results.run.signing_key = SigningInfo(
        fingerprint=key.fingerprint, public_key=key.public_pem, generated=key.generated
    )
    run.save_results(results)
    trends = _history(run, results, echo)
    if render:
        try:
            from harness.export import write_exports
            from harness.report import render_all

            render_all(results, run.path, previous=previous, run_dir=run.path, trends=trends)
            write_exports(results, run.path, echo=echo)
        except Exception as exc:  # noqa: BLE001 - results.json stands; say the report broke
            if echo is not None:
                echo(f"harness: rendering the reports failed: {type(exc).__name__}: {exc}")
    seal(run, key)


def _history(run: RunDir, results: Results, echo: Echo | None) -> Trends | None:
    """Record the run in the reports folder's history and read back its trends.

    The history is a convenience for the report: when it cannot be written (a read-only
    reports folder), the run and its seal stand and the report shows no trends.
    """
    path = run.reports_root / HISTORY_NAME
    try:
        record(path, results)
        return trends(path, results)
    except HistoryError as exc:
        if echo is not None:
            echo(f"harness: run history not updated: {exc}")
        return None


def republish(
    folder: Path,
    *,
    update: Callable[[Results], None] | None = None,
    previous: Results | None = None,
    signing_key_source: str | Path | None = None,
    render: bool | None = None,
) -> Results:
    """Change a finished run (``update``), render it again and re-seal it.

    ``render`` defaults to "when the run has reports". Without ``previous``, the run named in
    ``run.previous_id`` (a sibling folder) feeds the change list. A run sealed with a key
    generated for it gets a new generated key (nobody kept the old one).
    """
    try:
        run = RunDir.open(folder)
        results = run.load_results()
        key = signing_key(signing_key_source)
    except (ResultsError, SealError) as exc:
        raise PipelineError(str(exc)) from None
    if update is not None:
        update(results)
    if previous is None and results.run.previous_id:
        previous = run.sibling_results(results.run.previous_id)
    if render is None:
        render = (run.path / "report.html").is_file()
    publish(run, results, key=key, render=render, previous=previous)
    return results


def _with_evidence(finding: Finding, record: TestRecord, hashes: dict[str, str]) -> Finding:
    """A probe's finding points at the evidence its test captured, unless it names its own."""
    if finding.evidence_paths:
        return finding
    paths = [e["path"] for e in record.evidence if e.get("path") in hashes]
    return finding.model_copy(update={"evidence_paths": paths})


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
