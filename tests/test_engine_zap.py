"""The ZAP adapter against recorded ZAP API responses (tests/data/zap/*.json).

No ZAP daemon can be reached on the machines this project is built on: the adapter is tested
against responses in the shapes ZAP's JSON API returns, served through a fake transport under
the ``zaproxy`` client (its ``requests`` sessions), so the client library itself is exercised.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from harness.engines import EngineUnavailable
from harness.engines.zap import ZapEngine, load_rules, normalise
from harness.findings import Severity
from harness.scope import OutOfScope, ScopeGuard

DATA = Path(__file__).parent / "data" / "zap"
TARGET = "https://127.0.0.1:8443"
GUARD = ScopeGuard(["127.0.0.0/8"])


def _load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


class FakeZap:
    """Serves recorded responses by API path; status views step through their recordings."""

    def __init__(self, *, spider: list[str], ascan: list[str], pscan: list[str]) -> None:
        self.calls: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.sequences = {
            "/JSON/spider/view/status/": [_load(f"spider_view_status_{s}") for s in spider],
            "/JSON/ascan/view/status/": [_load(f"ascan_view_status_{s}") for s in ascan],
            "/JSON/pscan/view/recordsToScan/": [
                _load(f"pscan_view_recordsToScan_{s}") for s in pscan
            ],
        }

    def send(self, adapter, request, **kwargs):  # requests.adapters.HTTPAdapter.send
        parts = urlsplit(request.url)
        self.calls.append((parts.path, parse_qs(parts.query), dict(request.headers)))
        if parts.path in self.sequences:
            steps = self.sequences[parts.path]
            body = steps.pop(0) if len(steps) > 1 else steps[0]
        else:
            name = parts.path.removeprefix("/JSON/").strip("/").replace("/", "_")
            body = _load(name)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.calls]

    def query(self, path: str) -> dict[str, list[str]]:
        return next(q for p, q, _ in self.calls if p == path)


@pytest.fixture
def fake(monkeypatch):
    def install(**sequences: list[str]) -> FakeZap:
        zap = FakeZap(**sequences)
        monkeypatch.setattr(
            requests.adapters.HTTPAdapter,
            "send",
            lambda adapter, request, **kw: zap.send(adapter, request, **kw),
        )
        return zap

    return install


def _engine(**kwargs) -> ZapEngine:
    clock = {"t": 0.0}

    def sleep(seconds: float) -> None:
        clock["t"] += seconds

    return ZapEngine(
        "http://127.0.0.1:8090",
        api_key="k3y",
        guard=GUARD,
        clock=lambda: clock["t"],
        sleep=sleep,
        **kwargs,
    )


def test_full_scan_is_scoped_and_normalised(fake):
    zap = fake(
        spider=["running", "done"], ascan=["running", "running", "done"], pscan=["busy", "done"]
    )
    run = _engine().scan(TARGET, budget_s=90)
    assert zap.paths()[:4] == [
        "/JSON/core/view/version/",
        "/JSON/context/action/newContext/",
        "/JSON/context/action/includeInContext/",
        "/JSON/spider/action/scan/",
    ]
    include = zap.query("/JSON/context/action/includeInContext/")["regex"][0]
    assert include.startswith("https://127\\.0\\.0\\.1:8443")
    spider = zap.query("/JSON/spider/action/scan/")
    assert spider["contextName"] == zap.query("/JSON/context/action/newContext/")["contextName"]
    ascan = zap.query("/JSON/ascan/action/scan/")
    assert ascan["inScopeOnly"] == ["True"] and ascan["contextId"] == ["2"]
    assert all(headers.get("X-ZAP-API-Key") == "k3y" for _, _, headers in zap.calls)
    assert run.engine == "zap 2.15.0" and run.notes == []
    assert run.coverage is not None and run.coverage.complete and run.mode == "intrusive"
    # 10027 IGNORE, 10036 WARN, the off-target alert dropped by the scope guard.
    assert run.ignored == 2
    assert [w.rule for w in run.warnings] == ["zap:10036"]
    rules = {f.rule: f for f in run.findings}
    assert set(rules) == {"zap:10038", "zap:40022"}
    sqli = rules["zap:40022"]
    assert (sqli.severity, sqli.cwe, sqli.owasp, sqli.parameter) == (Severity.HIGH, 89, "A03", "q")
    assert rules["zap:10038"].owasp == "A05"
    assert {f.rule for f in run.failing()} == {"zap:10038", "zap:40022"}
    assert run.failing(baseline={rules["zap:10038"].id}) == [sqli]


def test_a_scan_over_budget_is_stopped_and_says_so(fake):
    zap = fake(spider=["running"], ascan=["running"], pscan=["busy"])
    run = _engine().scan(TARGET, budget_s=10)
    assert "/JSON/spider/action/stop/" in zap.paths()
    assert "/JSON/ascan/action/stop/" in zap.paths()
    assert any("budget" in note for note in run.notes)
    assert any("passive" in note for note in run.notes)
    assert run.coverage is not None and run.coverage.stopped_at_budget
    assert not run.coverage.complete and run.coverage.bounded == ["spider"]


def test_safe_mode_runs_no_active_scan_and_says_so(fake):
    zap = fake(spider=["running", "done"], ascan=["done"], pscan=["busy", "done"])
    run = _engine().scan(TARGET, budget_s=90, active=False)
    assert not any(path.startswith("/JSON/ascan/") for path in zap.paths())
    assert run.mode == "passive" and run.coverage is not None
    assert run.coverage.planned == ["spider", "passive scan"] and run.coverage.complete


def test_unreachable_daemon_is_engine_unavailable(monkeypatch):
    def refuse(adapter, request, **kwargs):
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    with pytest.raises(EngineUnavailable, match="no ZAP daemon"):
        _engine().scan(TARGET)


def test_daemon_and_target_must_be_in_scope(fake):
    fake(spider=["done"], ascan=["done"], pscan=["done"])
    with pytest.raises(OutOfScope):
        ZapEngine("http://zap.example.org:8090", guard=GUARD)
    with pytest.raises(OutOfScope):
        _engine().scan("https://example.org/")


def test_rules_file_policies_and_fail_override():
    rules = load_rules()
    assert rules["10027"] == "IGNORE" and rules["40018"] == "FAIL"
    alert = _load("core_view_alerts")["alerts"][1] | {"pluginId": "10023"}
    assert normalise(alert, "FAIL").severity == Severity.MEDIUM  # FAIL lifts an info alert


def test_bad_policy_is_refused(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[rules]\n"10038" = "MAYBE"\n')
    with pytest.raises(ValueError, match="MAYBE"):
        load_rules(path)
