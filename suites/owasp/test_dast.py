"""SEC-14: a DAST scan (ZAP when configured, wapiti otherwise) finds nothing High/Medium
beyond the baseline.

In safe mode the scan is passive (ZAP: spider and passive scan; wapiti: passive modules
through a read-only proxy) and the verdict says so. The budget is a wall deadline: a scan
stopped before every module ran is not_evaluated for what it missed, never a pass.
"""

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
from harness.guard_process import ProcessGuard
from harness.loopback import source
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(92)  # the scanner's traffic
LOGIN_SOURCE = source(93)  # the proxy's own logins


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
        return engine.scan(
            target.base_url, budget_s=budget, active=target.profile.safety_mode == "intrusive"
        )
    except EngineUnavailable as exc:
        notes.append(f"ZAP unavailable, falling back to wapiti: {exc}")
        return None


def _openapi_path(target) -> str | None:
    """The OpenAPI document's path when the target serves one, else None (crawl the pages)."""
    try:
        target.openapi  # noqa: B018 -- fetched (and cached) only to learn whether it exists
    except NotApplicable:
        return None
    return str(target.profile.target.openapi_path)


def _wapiti(target, budget: float, tmp_path: Path) -> EngineRun:
    from harness.engines import wapiti

    profile = target.profile
    # wapiti exits on a --swagger URL that does not answer 200: a target without an OpenAPI
    # document is scanned from its pages alone.
    openapi_path = _openapi_path(target)
    login = None
    if profile.auth.flow != "none":

        def login():
            try:
                return do_login(target, local_address=LOGIN_SOURCE)
            except AuthError:
                time.sleep(1.0)  # one retry: a login can lose a race with parallel tests
                return do_login(target, local_address=LOGIN_SOURCE)

    passive = profile.safety_mode == "safe"
    with AuthProxy(
        target.base_url,
        login,
        client_factory=lambda: target.client(local_address=SOURCE),
        guard=target.guard,
        read_only=passive,
    ) as proxy:
        starts = [proxy.url + p for p in profile.target.pages]
        host, port = proxy.url.removeprefix("http://").rsplit(":", 1)
        try:
            run = wapiti.run(
                proxy.url,
                guard=ProcessGuard(target.guard),
                budget_s=budget,
                passive=passive,
                start_urls=starts,
                openapi_url=proxy.url + openapi_path if openapi_path else None,
                proxy_url=proxy.url,
                reach=[(host, int(port))],
                map_to=target.base_url,
                workdir=tmp_path / "wapiti",
            )
        finally:
            refused = list(proxy.refused)
        run.refused = refused
        run.notes.append(
            f"auth proxy: {proxy.requests} requests, {proxy.relogins} logins, "
            f"{proxy.failures} failed, {len(refused)} refused by the egress guard"
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
            if exc.attempts:
                evidence.json("failed attempts", exc.attempts)
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
            "mode": run.mode,
            "containment": run.containment,
            "coverage": run.coverage.model_dump() if run.coverage else None,
            "retried_after": run.attempts,
            "refused_by_egress_guard": run.refused,
        },
    )
    if run.raw_path:
        evidence.file(run.raw_path, title=f"{run.engine} report")
    evidence.figure("dast duration", run.elapsed_s, "s")
    for finding in run.findings:
        evidence.finding(finding)
    coverage = run.coverage.describe(budget) if run.coverage else "coverage not reported"
    scope = f"{run.mode} scan, {coverage}"
    assert not failing, (
        f"{run.engine} ({scope}): {len(failing)} High/Medium findings beyond the "
        "baseline:\n"
        + "\n".join(
            f"[{f.severity}] {f.title} {f.method or ''} {f.url} param={f.parameter}"
            for f in failing[:25]
        )
    )
    if run.coverage is not None and not run.coverage.complete:
        raise NotEvaluated(
            f"{run.engine}: partial coverage, {coverage}; nothing High/Medium in what ran"
        )
    if run.mode == "passive":
        # A pass, but of a passive scan only: the evidence says which checks ran.
        evidence.text("scope", f"safe mode: {scope}; no attack payload was sent")
