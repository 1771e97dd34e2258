"""SEC-14: a DAST scan (ZAP when configured, wapiti otherwise) finds nothing High/Medium
beyond the baseline."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.auth import AuthError
from harness.auth import login as do_login
from harness.baseline import load_baseline
from harness.engines import EngineRun, EngineUnavailable
from harness.engines.authproxy import AuthProxy
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = "127.0.0.92"  # the scanner's traffic
LOGIN_SOURCE = "127.0.0.93"  # the proxy's own logins


def _baseline(profile) -> set[str]:
    """Accepted finding ids: ``dast.baseline`` (if the profile has it), HARNESS_DAST_BASELINE."""
    path = getattr(profile.dast, "baseline", None) or os.environ.get("HARNESS_DAST_BASELINE")
    if not path:
        return set()
    return load_baseline(Path(path))


def _zap(target, budget: float, notes: list[str]) -> EngineRun | None:
    dast = target.profile.dast
    url = dast.zap_api_url or os.environ.get("ZAP_API_URL")
    if not url:
        notes.append("no ZAP daemon configured (dast.zap_api_url / ZAP_API_URL)")
        return None
    from harness.engines.zap import ZapEngine, load_rules

    try:
        engine = ZapEngine(
            url,
            api_key=dast.zap_api_key or os.environ.get("ZAP_API_KEY"),
            guard=target.guard,
            rules=load_rules(dast.zap_rules),
        )
        return engine.scan(target.base_url, budget_s=budget)
    except EngineUnavailable as exc:
        notes.append(f"ZAP unavailable, falling back to wapiti: {exc}")
        return None


def _wapiti(target, budget: float, tmp_path: Path) -> EngineRun:
    from harness.engines import wapiti

    profile = target.profile
    login = None
    if profile.auth.flow != "none":

        def login():
            try:
                return do_login(target, local_address=LOGIN_SOURCE)
            except AuthError:
                time.sleep(1.0)  # one retry: a login can lose a race with parallel tests
                return do_login(target, local_address=LOGIN_SOURCE)

    with AuthProxy(
        target.base_url, login, client_factory=lambda: target.client(local_address=SOURCE)
    ) as proxy:
        starts = [proxy.url + p for p in profile.target.pages]
        run = wapiti.run(
            proxy.url,
            budget_s=budget,
            start_urls=starts,
            openapi_url=proxy.url + profile.target.openapi_path,
            map_to=target.base_url,
            workdir=tmp_path / "wapiti",
        )
        run.notes.append(
            f"auth proxy: {proxy.requests} requests, {proxy.relogins} logins, "
            f"{proxy.failures} failed"
        )
    # A scan that mostly could not reach the target judged nothing: never a pass.
    if proxy.requests == 0 or proxy.failures * 2 > proxy.requests:
        raise NotEvaluated(
            f"wapiti could not reach the target through the auth proxy: "
            f"{proxy.failures} of {proxy.requests} requests failed "
            f"(last: {proxy.last_error})"
        )
    return run


@pytest.mark.control("SEC-14")
def test_dast_scan_finds_nothing_new(target, evidence, tmp_path):
    budget = float(target.profile.dast.budget_s or 90)
    notes: list[str] = []
    run = _zap(target, budget, notes)
    if run is None:
        try:
            run = _wapiti(target, budget, tmp_path)
        except EngineUnavailable as exc:
            raise NotEvaluated(
                f"no DAST engine could run: {'; '.join(notes)}; wapiti: {exc}"
            ) from exc
    run.notes[:0] = notes
    baseline = _baseline(target.profile)
    failing = run.failing(baseline)
    evidence.json(
        "dast run",
        {
            "engine": run.engine,
            "target": run.target,
            "elapsed_s": round(run.elapsed_s, 1),
            "notes": run.notes,
            "findings": len(run.findings),
            "warnings": len(run.warnings),
            "ignored": run.ignored,
            "baseline": len(baseline),
        },
    )
    if run.raw_path:
        evidence.file(run.raw_path, title=f"{run.engine} report")
    evidence.figure("dast duration", run.elapsed_s, "s")
    for finding in run.findings:
        evidence.finding(finding)
    assert not failing, (
        f"{run.engine}: {len(failing)} High/Medium findings beyond the "
        "baseline:\n"
        + "\n".join(
            f"[{f.severity}] {f.title} {f.method or ''} {f.url} param={f.parameter}"
            for f in failing[:25]
        )
    )
