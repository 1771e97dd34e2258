"""The harness pytest plugin, end to end through pytester (in-process runs, a few seconds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inner_pytest import BASE_ARGS, EXTERNAL_PROFILE, use_profile  # tests/ is on sys.path

pytest_plugins = ["pytester"]

PROFILE = (
    EXTERNAL_PROFILE
    + """[profiles.reference.auth]
users = [{ name = "alice", password = "alice-secret-pw" }]
[profiles.reference.not_applicable]
"SEC-11" = "TLS terminates at the cloud load balancer"
"""
)


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    use_profile(pytester, monkeypatch, PROFILE)

    def run(source: str, *args: str, out: str = "out") -> tuple[pytest.RunResult, dict[str, Any]]:
        pytester.makepyfile(test_controls=source)
        result = pytester.runpytest_inprocess(*BASE_ARGS, "--harness-out", out, *args)
        path = pytester.path / out / "results.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        return result, data

    return run


@pytest.fixture
def planned_control(monkeypatch: pytest.MonkeyPatch) -> str:
    """A catalog with one control still planned: every control of the real one is built, so
    the plugin's handling of a planned control is shown on a patched copy."""
    from harness.catalog import CATALOG_PATH, parse_catalog

    control = "OPS-05"
    text = CATALOG_PATH.read_text(encoding="utf-8")
    marker = f'id = "{control}"\n'
    assert marker in text
    catalog = parse_catalog(text.replace(marker, marker + "planned = true\n"), "patched")
    assert catalog.get(control).planned
    monkeypatch.setattr("harness.plugin_state.load_catalog", lambda: catalog)
    return control


def status(data: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in data["controls"]}


def test_verdicts_fold_per_control(run, planned_control) -> None:
    result, data = run(
        """
        import pytest
        from harness.verdicts import NotApplicable, NotEvaluated

        @pytest.mark.control("SEC-01")
        def test_pass(): pass

        @pytest.mark.control("SEC-02")
        def test_fail(): assert 1 == 2, "reflected origin"

        @pytest.mark.control("SEC-02")
        def test_pass_too(): pass

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        @pytest.mark.control("SEC-03")
        def test_error(broken): pass

        @pytest.mark.control("SEC-04")
        def test_ne(): raise NotEvaluated("schemathesis missing")

        @pytest.mark.control("SEC-04")
        def test_ok(): pass

        @pytest.mark.control("SEC-05")
        def test_na(): raise NotApplicable("no SQL database")

        @pytest.mark.control("SEC-06")
        def test_na_part(): raise NotApplicable("no stored inputs")

        @pytest.mark.control("SEC-06")
        def test_pass_part(): pass

        @pytest.mark.control("SEC-07")
        @pytest.mark.skip(reason="flaky today")
        def test_plain_skip(): pass

        @pytest.mark.control("SEC-11")
        def test_tls(): assert False

        @pytest.mark.control("OPS-05")
        def test_planned(): pass

        def test_no_control(): pass
        """
    )
    assert result.ret == 1
    got = status(data)
    assert got["SEC-01"] == "pass"
    assert got["SEC-02"] == "fail"
    assert got["SEC-03"] == "error"
    assert got["SEC-04"] == "not_evaluated"  # conservative: part of the claim never checked
    assert got["SEC-05"] == "not_applicable"
    assert got["SEC-06"] == "pass"  # the not-applicable part is ignored
    assert got["SEC-07"] == "not_evaluated"
    assert got["SEC-11"] == "not_applicable"  # the profile's map wins; the test was skipped
    assert got["SEC-08"] == "not_evaluated"  # same area, no test selected
    # Only the areas the run touched: hardening and operations, not auth or performance.
    assert data["run"]["areas"] == ["hardening", "operations"]
    assert got["OPS-05"] == "planned"
    assert "AUTH-01" not in got
    by_id = {c["id"]: c for c in data["controls"]}
    assert "reflected origin" in by_id["SEC-02"]["reason"]
    assert "fixture broke" in by_id["SEC-03"]["reason"]
    assert by_id["SEC-04"]["reason"] == "schemathesis missing"
    assert "flaky today" in by_id["SEC-07"]["reason"]
    assert by_id["SEC-11"]["reason"] == "TLS terminates at the cloud load balancer"
    assert data["summary"]["pass"] == 2 and data["summary"]["total"] == len(data["controls"])
    assert data["schema_version"] == "1.2"
    assert data["run"]["profile"] == "reference"


def test_evidence_files_redacted_and_hashed(run, pytester: pytest.Pytester) -> None:
    result, data = run(
        """
        import httpx, pytest
        from harness.findings import Finding, Severity

        @pytest.mark.control("AUTH-06", "SEC-09")
        def test_cookie(evidence):
            evidence.secret("tok-registered-123")
            request = httpx.Request("POST", "http://127.0.0.1:1/api/v1/auth/login",
                                    json={"username": "alice", "password": "alice-secret-pw"},
                                    headers={"Authorization": "Bearer abcdefghijkl"})
            response = httpx.Response(
                200, request=request,
                headers=[("Set-Cookie", "bridge_session=s3cr3tsession; HttpOnly; Secure")],
                json={"access_token": "leaky-token-value", "csrf_token": "csrf-abc-123"})
            evidence.http(response)
            evidence.log(["token=tok-registered-123 ok", "plain line"], "app log")
            evidence.json("tokens", {"refresh_token": "rrrrrrrrrr", "n": 1})
            evidence.text("note", "Bearer zzzzzzzzzz and dG9rLXJlZ2lzdGVyZWQtMTIz")
            evidence.figure("p95", 123.5, "ms")
            evidence.finding(Finding(rule="probe:x", title="leak", severity=Severity.HIGH,
                                     evidence="alice-secret-pw in body"))
        """
    )
    assert result.ret == 0, result.stdout.str()
    out = pytester.path / "out"
    control = next(c for c in data["controls"] if c["id"] == "AUTH-06")
    assert [e["kind"] for e in control["evidence"]] == ["http", "log", "json", "text"]
    first = control["evidence"][0]["path"]
    assert first.startswith("evidence/AUTH-06/test_controls-test_cookie/01-")
    blob = "\n".join((out / e["path"]).read_text() for e in control["evidence"])
    for secret in (
        "alice-secret-pw",
        "s3cr3tsession",
        "leaky-token-value",
        "abcdefghijkl",
        "tok-registered-123",
        "rrrrrrrrrr",
        "zzzzzzzzzz",
        "dG9rLXJlZ2lzdGVyZWQtMTIz",
        "csrf-abc-123",
    ):
        assert secret not in blob, secret
    assert "HttpOnly; Secure" in blob and "«redacted:" in blob
    # Same evidence on both controls of the test; digests match the files.
    sec09 = next(c for c in data["controls"] if c["id"] == "SEC-09")
    assert sec09["evidence"] == control["evidence"]
    manifest = json.loads((out / "manifest.json").read_text())
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    for item in control["evidence"]:
        assert digests[item["path"]] == item["sha256"]
    assert "results.json" in digests
    assert data["figures"] == [
        {
            "control": "AUTH-06",
            "test": "test_controls.py::test_cookie",
            "name": "p95",
            "value": 123.5,
            "unit": "ms",
        }
    ]
    assert data["findings"][0]["control"] == "AUTH-06"
    assert "alice-secret-pw" not in json.dumps(data)


def test_secret_source_rescans_at_the_end(run, pytester: pytest.Pytester) -> None:
    # A token the target issues only later (the mock provider's) is redacted after the fact.
    result, data = run(
        """
        import pytest
        import harness.plugin

        @pytest.fixture(scope="session", autouse=True)
        def provider():
            harness.plugin.register_secret_source(lambda: ["late-issued-token-xyz"])

        @pytest.mark.control("AUTH-02")
        def test_rows(evidence):
            evidence.text("db rows", "row 1: late-issued-token-xyz")
        """
    )
    assert result.ret == 0
    path = pytester.path / "out" / data["controls"][1]["evidence"][0]["path"]
    assert "late-issued-token-xyz" not in path.read_text()


def test_unknown_control_is_a_usage_error(run) -> None:
    result, data = run(
        """
        import pytest

        @pytest.mark.control("SEC-99")
        def test_x(): pass
        """
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown control 'SEC-99'" in result.stderr.str()
    assert data == {}


def test_strict_catalog_needs_a_test_per_control(run, planned_control) -> None:
    result, _ = run(
        """
        import pytest

        @pytest.mark.control("SEC-01")
        def test_x(): pass
        """,
        "--harness-strict-catalog",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "AUTH-01" in result.stderr.str() and planned_control not in result.stderr.str()


def test_plain_unit_tests_write_nothing(run, pytester: pytest.Pytester) -> None:
    result, data = run("def test_x(): pass")
    assert result.ret == 0 and data == {}
    assert not (pytester.path / "out").exists()


def test_lifecycle_unsupported_is_not_applicable(run) -> None:
    _, data = run(
        """
        import pytest
        from harness.stack.base import LifecycleUnsupported

        @pytest.mark.control("AUTH-01")
        def test_restart():
            raise LifecycleUnsupported("external deployment: cannot restart 'app'")
        """
    )
    auth01 = next(c for c in data["controls"] if c["id"] == "AUTH-01")
    assert auth01["status"] == "not_applicable"
    assert "cannot restart" in auth01["reason"]


def test_xdist_workers_report_to_the_controller(run, pytester: pytest.Pytester) -> None:
    result, data = run(
        """
        import pytest

        @pytest.mark.control("OBS-01")
        @pytest.mark.parametrize("n", range(4))
        def test_metrics(evidence, n):
            evidence.secret(f"worker-secret-{n}")
            evidence.text(f"sample {n}", f"value worker-secret-{(n + 1) % 4}")
            assert n != 3
        """,
        "-n",
        "2",
        "-p",
        "xdist",
    )
    got = {c["id"]: c for c in data["controls"]}
    assert got["OBS-01"]["status"] == "fail"
    assert len(got["OBS-01"]["tests"]) == 4
    assert len(got["OBS-01"]["evidence"]) == 4
    for item in got["OBS-01"]["evidence"]:
        text = (Path(pytester.path) / "out" / item["path"]).read_text()
        assert "worker-secret" not in text, text


def test_default_out_latest_link_and_change_list(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_CONFIG", str(pytester.path / "none.toml"))
    monkeypatch.delenv("HARNESS_OUT", raising=False)
    source = """
        import pytest

        @pytest.mark.control("SEC-13")
        def test_redirect():
            assert {ok}
        """
    pytester.makepyfile(test_redirect=source.format(ok=True))
    pytester.runpytest_inprocess(*BASE_ARGS)
    first = (pytester.path / "reports" / "latest").resolve()
    pytester.makepyfile(test_redirect=source.format(ok=False))
    pytester.runpytest_inprocess(*BASE_ARGS, "--harness-no-report")
    latest = pytester.path / "reports" / "latest"
    assert latest.is_symlink() and latest.resolve() != first
    data = json.loads((latest / "results.json").read_text())
    assert data["run"]["previous_id"] == first.name
    assert (latest / "manifest.json").is_file() and not (latest / "report.html").exists()
    assert (first / "report.html").is_file() and (first / "junit.xml").is_file()
