"""OWASP ZAP through its API client (``zaproxy``/``zapv2``), scoped to the target.

Flow: a context whose include regex is the target's base URL (so the active scan never leaves
it), spider inside the context, wait for the passive scanner to drain, active scan inside the
context, then read the alerts for the base URL. Every wait is bounded by the run's budget; an
active scan still running at the deadline is stopped and the run says so.

Rule policy (``zap_rules.toml``): per ZAP plugin id, IGNORE (dropped), WARN (kept, never
failing) or FAIL (failing whatever its risk); unlisted rules fail on High/Medium risk.
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from harness.engines import Coverage, EngineRun, EngineUnavailable, owasp_for
from harness.findings import Confidence, Finding, Severity
from harness.scope import ScopeGuard

RULES_FILE = Path(__file__).with_name("zap_rules.toml")
Policy = Literal["IGNORE", "WARN", "FAIL"]

RISK = {
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "informational": Severity.INFO,
    "info": Severity.INFO,
}
CONFIDENCE = {
    "confirmed": Confidence.CONFIRMED,
    "high": Confidence.HIGH,
    "medium": Confidence.MEDIUM,
    "low": Confidence.LOW,
}


def load_rules(path: str | Path | None = None) -> dict[str, Policy]:
    document = tomllib.loads(Path(path or RULES_FILE).read_text(encoding="utf-8"))
    rules: dict[str, Policy] = {}
    for rule_id, value in (document.get("rules") or {}).items():
        policy = str(value.get("policy") if isinstance(value, dict) else value).upper()
        if policy not in ("IGNORE", "WARN", "FAIL"):
            raise ValueError(
                f"{path or RULES_FILE}: rule {rule_id}: policy {policy!r} is not "
                "IGNORE, WARN or FAIL"
            )
        rules[str(rule_id)] = policy  # type: ignore[assignment]
    return rules


def normalise(alert: dict[str, Any], policy: Policy | None) -> Finding:
    """One ZAP alert (``/JSON/core/view/alerts/`` item) as a Finding."""
    try:
        cwe: int | None = int(alert.get("cweid") or 0) or None
    except ValueError:
        cwe = None
    severity = RISK.get(str(alert.get("risk", "")).lower(), Severity.INFO)
    if policy == "FAIL" and severity.rank < Severity.MEDIUM.rank:
        severity = Severity.MEDIUM  # FAIL: the rule fails the control whatever ZAP rated it
    confidence_text = str(alert.get("confidence", "")).lower()
    return Finding(
        rule=f"zap:{alert.get('pluginId', '?')}",
        title=str(alert.get("alert") or alert.get("name") or "ZAP alert"),
        severity=severity,
        confidence=CONFIDENCE.get(confidence_text, Confidence.LOW),
        engine="zap",
        control="SEC-14",
        cwe=cwe,
        owasp=owasp_for(cwe),
        url=alert.get("url"),
        method=alert.get("method"),
        parameter=alert.get("param") or None,
        evidence=str(alert.get("evidence") or alert.get("attack") or "")[:1000] or None,
        description=str(alert.get("description") or "")[:1000] or None,
    )


class ZapEngine:
    def __init__(
        self,
        api_url: str,
        *,
        api_key: str | None = None,
        guard: ScopeGuard,
        rules: dict[str, Policy] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        guard.check(api_url)  # the daemon itself must be in scope: it will receive requests
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.guard = guard
        self.rules = rules if rules is not None else load_rules()
        self.clock = clock
        self.sleep = sleep
        try:
            from zapv2 import ZAPv2
        except ImportError as exc:  # pragma: no cover - zaproxy is a dependency
            raise EngineUnavailable(f"the zaproxy client is not installed: {exc}") from exc
        # zapv2 talks to the daemon as an HTTP proxy for the pseudo-host "zap".
        self.zap = ZAPv2(apikey=api_key, proxies={"http": self.api_url, "https": self.api_url})

    def version(self) -> str:
        try:
            return str(self.zap.core.version)
        except Exception as exc:  # noqa: BLE001 - any failure means the daemon is unusable
            raise EngineUnavailable(f"no ZAP daemon answers at {self.api_url}: {exc}") from exc

    def _wait(
        self,
        read: Callable[[], Any],
        done: Callable[[Any], bool],
        deadline: float,
        poll_s: float = 2.0,
    ) -> bool:
        while True:
            value = read()
            if done(value):
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(poll_s)

    def scan(self, base_url: str, *, budget_s: float = 90.0, active: bool = True) -> EngineRun:
        self.guard.check(base_url)
        started = self.clock()
        deadline = started + budget_s
        run = EngineRun(
            engine=f"zap {self.version()}",
            target=base_url,
            mode="intrusive" if active else "passive",
            containment="ZAP daemon: context limited to the target",
        )
        coverage = Coverage(
            planned=["spider", "passive scan", *(["active scan"] if active else [])]
        )
        run.coverage = coverage
        context = f"harness-{int(time.time())}"
        context_id = self.zap.context.new_context(context)
        # Only the target: ZAP must not follow links to other hosts or attack them.
        parts = urlsplit(base_url)
        include = re.escape(f"{parts.scheme}://{parts.netloc}") + "(/.*)?"
        self.zap.context.include_in_context(context, include)
        spider_id = self.zap.spider.scan(
            url=base_url, recurse=True, contextname=context, subtreeonly=True
        )
        # Without an active scan the spider and the passive scan share the whole budget.
        spider_deadline = started + budget_s * (0.35 if active else 0.6)
        coverage.ran.append("spider")
        if not self._wait(
            lambda: self.zap.spider.status(spider_id), lambda s: str(s) == "100", spider_deadline
        ):
            self.zap.spider.stop(spider_id)
            coverage.bounded.append("spider")
            run.notes.append("spider stopped at its share of the budget")
        passive_deadline = started + budget_s * (0.5 if active else 1.0)
        if self._wait(
            lambda: self.zap.pscan.records_to_scan,
            lambda n: str(n) == "0",
            passive_deadline,
            poll_s=1.0,
        ):
            coverage.ran.append("passive scan")
        else:
            coverage.stopped_at_budget = True
            run.notes.append("passive scan still had records queued at its deadline")
        if active:
            scan_id = self.zap.ascan.scan(
                url=base_url, recurse=True, inscopeonly=True, contextid=context_id
            )
            if not str(scan_id).isdigit():
                run.notes.append(f"active scan did not start: {scan_id}")
            else:
                coverage.ran.append("active scan")
                if not self._wait(
                    lambda: self.zap.ascan.status(scan_id), lambda s: str(s) == "100", deadline
                ):
                    self.zap.ascan.stop(scan_id)
                    coverage.stopped_at_budget = True
                    run.notes.append(f"active scan stopped at the {budget_s:.0f}s budget")
        alerts = self._alerts(base_url)
        for alert in alerts:
            policy = self.rules.get(str(alert.get("pluginId")))
            if policy == "IGNORE":
                run.ignored += 1
                continue
            finding = normalise(alert, policy)
            if not self.guard.allows_host(urlsplit(finding.url or base_url).hostname or ""):
                run.ignored += 1
                continue
            (run.warnings if policy == "WARN" else run.findings).append(finding)
        run.elapsed_s = self.clock() - started
        return run

    def _alerts(self, base_url: str, page: int = 500) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        start = 0
        while True:
            batch = self.zap.core.alerts(baseurl=base_url, start=start, count=page)
            alerts.extend(batch)
            if len(batch) < page:
                return alerts
            start += page
