"""Regenerate tests/data/sample-run (a realistic results.json with evidence files).

    .venv/bin/python tests/data/make_sample_run.py

The run mirrors a full nightly against the reference stack with two seeded faults: most
controls pass, a few fail with evidence, the planned suites show as planned.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import zlib
from pathlib import Path

from harness.catalog import load_catalog
from harness.findings import Confidence, Finding, Severity
from harness.outcomes import TestRecord, control_findings, control_result
from harness.results import (
    Efficacy,
    EfficacyClean,
    EfficacyFault,
    EfficacySummary,
    Figure,
    Results,
    RunInfo,
    save_results,
    summarise,
)
from harness.roadmap import coverage as roadmap_coverage
from harness.verdicts import Verdict

HERE = Path(__file__).resolve().parent
RUN = HERE / "sample-run"

OUTCOMES: dict[str, tuple[Verdict, str | None]] = {
    "SEC-01": (
        Verdict.FAIL,
        "GET /api/v1/nope -> 404 lacks Content-Security-Policy, X-Frame-Options",
    ),
    "SEC-05": (
        Verdict.FAIL,
        "time-based probe on GET /api/v1/tracks?q= delayed 3.02 s (threshold 2 s)",
    ),
    "SEC-14": (Verdict.NOT_EVALUATED, "ZAP_API_URL not set and wapiti timed out after 90 s"),
    "SEC-11": (Verdict.ERROR, "setup error: StackError: nginx did not become ready in 20 s"),
    "AUTH-01": (Verdict.NOT_APPLICABLE, "external deployment: cannot restart 'app'"),
}


def _png(width: int = 320, height: int = 160) -> bytes:
    """A small valid PNG (a two-tone bar), built without image libraries."""
    rows = b""
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes((9, 105, 218) if x < width * 0.7 and 40 < y < 120 else (246, 248, 250))
        rows += bytes(row)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    shutil.rmtree(RUN, ignore_errors=True)
    catalog = load_catalog()
    hashes: dict[str, str] = {}
    records: dict[str, list[TestRecord]] = {}
    for control in catalog:
        if control.planned:
            continue
        module = f"test_{control.id.lower().replace('-', '_')}.py"
        nodeid = f"suites/{control.area.value}/{module}::test_claim"
        verdict, reason = OUTCOMES.get(control.id, (Verdict.PASS, None))
        record = TestRecord(nodeid=nodeid, controls=[control.id])
        record.phases.append((verdict, reason))
        record.duration_s = 0.4 + (sum(map(ord, control.id)) % 40) / 10
        folder = RUN / "evidence" / control.id / "test_claim"
        folder.mkdir(parents=True, exist_ok=True)
        http = folder / "01-GET-page.http"
        http.write_text(
            "GET https://127.0.0.1:8443/login HTTP/1.1\nhost: 127.0.0.1:8443\n"
            "cookie: bridge_session=«redacted:4f2a9c1e»\n\n\nHTTP/1.1 200 OK\n"
            "content-type: text/html; charset=utf-8\n"
            "strict-transport-security: max-age=31536000; includeSubDomains\n"
            "set-cookie: bridge_session=«redacted:77c1b0d2»; HttpOnly; Secure; SameSite=Lax; "
            "Path=/\n\n"
            "<!doctype html><title>Login</title>…\n"
        )
        record.evidence.append(
            {"kind": "http", "title": "GET /login -> 200", "path": http.relative_to(RUN).as_posix()}
        )
        if verdict == Verdict.FAIL:
            log = folder / "02-app-log.log"
            log.write_text(
                '{"time": "2026-11-24T02:14:07Z", "level": "INFO", "logger": "bridge.http", '
                '"message": "request", "route": "/api/v1/tracks", "status": 200, '
                '"duration_ms": 3021}\n'
            )
            record.evidence.append(
                {
                    "kind": "log",
                    "title": "app log around the probe",
                    "path": log.relative_to(RUN).as_posix(),
                }
            )
        if control.id == "SEC-06":
            shot = folder / "03-stored-payload.png"
            shot.write_bytes(_png())
            record.evidence.append(
                {
                    "kind": "screenshot",
                    "title": "playlist page with stored payload",
                    "path": shot.relative_to(RUN).as_posix(),
                }
            )
        records[control.id] = [record]
    for path in sorted((RUN / "evidence").rglob("*")):
        if path.is_file():
            hashes[path.relative_to(RUN).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    controls = [control_result(c, records.get(c.id, []), hashes, {}) for c in catalog]
    figures = [
        Figure(
            control="PERF-01",
            test="suites/performance/test_gzip.py::test_pages",
            name="compression ratio",
            value=v,
            unit="%",
        )
        for v in (71.5,)
    ] + [
        Figure(
            control="OBS-01",
            test=f"suites/observability/test_metrics.py::test_latency[{route}]",
            name="p95 latency",
            value=value,
            unit="ms",
        )
        for route, value in (
            ("/api/v1/playlists", 42.0),
            ("/api/v1/tracks", 188.0),
            ("/dashboard", 61.5),
            ("/health/ready", 6.2),
        )
    ]
    findings = [
        Finding(
            rule="probe:sqli-time",
            title="Time-based SQL injection",
            severity=Severity.CRITICAL,
            confidence=Confidence.HIGH,
            control="SEC-05",
            cwe=89,
            owasp="A03",
            url="https://127.0.0.1:8443/api/v1/tracks",
            method="GET",
            parameter="q",
            evidence="q=x' AND pg_sleep(3)-- delayed the response by 3.02 s",
        ),
        Finding(
            rule="probe:missing-csp",
            title="Content-Security-Policy missing on error pages",
            severity=Severity.MEDIUM,
            control="SEC-01",
            cwe=693,
            owasp="A05",
            url="https://127.0.0.1:8443/api/v1/nope",
            method="GET",
        ),
        Finding(
            rule="zap:10096",
            title="Timestamp Disclosure - Unix",
            severity=Severity.LOW,
            engine="zap",
            control="SEC-14",
            url="https://127.0.0.1:8443/static/app.js",
            method="GET",
        ),
    ]
    results = Results(
        run=RunInfo(
            id="20261124T020000Z-3fa9c2",
            target="local stack 'bundled' (profile reference)",
            profile="reference",
            release="2",
            harness_version="0.1.0",
            git_sha="0f3c2a91d5b7e6a4c8f1023456789abcdef01234",
            start="2026-11-24T02:00:00+00:00",
            end="2026-11-24T02:11:42+00:00",
            duration_s=702.4,
            pytest_args=["suites", "--harness-strict-catalog", "-n", "2"],
            faults=["no_csp", "sqli_search"],
            strict_catalog=True,
            areas=sorted({c.area.value for c in catalog}),
        ),
        controls=controls,
        # The pipeline's fold: a failed control with no finding of its own gets one.
        findings=control_findings(controls, findings, RUN),
        figures=figures,
        efficacy=Efficacy(
            faults=[
                EfficacyFault(
                    name="no_csp",
                    expected=["SEC-01"],
                    failed=["SEC-01"],
                    caught=True,
                    status="caught",
                ),
                EfficacyFault(
                    name="sqli_search",
                    expected=["SEC-05"],
                    failed=["SEC-05", "SEC-14"],
                    caught=True,
                    status="caught (also tripped SEC-14)",
                ),
                EfficacyFault(
                    name="no_gzip", expected=["PERF-01"], failed=[], caught=False, status="missed"
                ),
                EfficacyFault(
                    name="lossy_downgrade",
                    expected=["OPS-01"],
                    failed=[],
                    caught=False,
                    status="pending (planned)",
                ),
            ],
            clean=EfficacyClean(failed=[]),
            summary=EfficacySummary(caught=2, total=3, false_alarms=0, pending=1),
        ),
        summary=summarise(controls),
        roadmap=roadmap_coverage({c.id: c.status.value for c in controls}),
    )
    save_results(results, RUN / "results.json")
    # The previous nightly, for the change list: SEC-05 passed then, SEC-13 failed then.
    previous = results.model_copy(deep=True)
    previous.run.id = "20261123T020000Z-81b7e0"
    for result in previous.controls:
        if result.id == "SEC-05":
            result.status = Verdict.PASS
        if result.id == "SEC-13":
            result.status = Verdict.FAIL
    previous.efficacy = None
    save_results(previous, HERE / "previous-results.json")
    print(RUN)


if __name__ == "__main__":
    main()
