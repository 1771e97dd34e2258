"""Stack definitions as data, templates, and which services a fault change touches."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.stack import faults
from harness.stack.base import StackError
from harness.stack.definition import TemplateContext, find_definition, load_definition

REGISTRY = {
    f.name: f
    for f in (
        faults.FaultInfo(name="no_csp", controls=["SEC-01"], services=["app"]),
        faults.FaultInfo(name="tls_legacy", controls=["SEC-11"], services=["nginx"]),
        faults.FaultInfo(name="sast_issue", controls=["SC-01"], services=["source"]),
        faults.FaultInfo(name="mock_fault", services=["spotify_mock"]),
    )
}


def test_bundled_definition() -> None:
    bundled = load_definition("bundled")
    assert set(bundled.services) == {
        "app",
        "postgres",
        "redis",
        "nginx",
        "spotify_mock",
        "slskd_mock",
    }
    levels = bundled.levels()
    assert levels[-1] == ["nginx"] and levels[-2] == ["app"]
    assert set(levels[0]) == {"postgres", "redis", "spotify_mock", "slskd_mock"}
    assert set(bundled.services["app"].depends_on) == {"postgres", "redis"}
    assert bundled.services["postgres"].unprivileged
    assert bundled.services["app"].profile_env
    assert ("nginx", "https") in bundled.port_slots()
    assert bundled.urls["app"].startswith("https://")


def test_a_target_can_declare_its_own_stack(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "mine.toml").write_text(
        """
        [services.web]
        argv = ["{python}", "-m", "http.server", "{port}"]
        url = "http://127.0.0.1:{port}"
        depends_on = ["db"]
        health = { type = "http", path = "/" }
        [services.db]
        argv = ["redis-server", "--port", "{port}"]
        health = { type = "redis" }
        """
    )
    mine = load_definition("mine", tmp_path)
    assert mine.name == "mine"
    assert mine.levels() == [["db"], ["web"]]
    assert find_definition("bundled", tmp_path).name == "bundled.toml"  # built-in fallback


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[services.a]\ndepends_on = ["b"]\n', "unknown service 'b'"),
        ('[services.a]\ndepends_on = ["b"]\n[services.b]\ndepends_on = ["a"]\n', "cycle"),
        ('[services.a]\nkind = "lambda"\n', "services.a.kind"),
        ('[services.a]\nstop_signal = "SIGNOPE"\n', "unknown signal"),
        ("[services.a\n", "not valid TOML"),
    ],
)
def test_bad_definitions_are_clear(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(StackError, match=message):
        load_definition(str(path))


def test_unknown_definition(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no stack definition named 'nope'"):
        load_definition("nope", tmp_path)


def test_templates() -> None:
    context = TemplateContext(port=5, ports={"nginx.https": 8443}, urls={"redis": "redis://x"})
    assert context.render("{ports[nginx.https]}/{port}", "x") == "8443/5"
    with pytest.raises(StackError, match="services.app.env.X: cannot render"):
        context.render("{nope}", "services.app.env.X")


def test_fault_validation() -> None:
    assert faults.validate(["no_csp", " no_csp", "tls_legacy"], REGISTRY) == [
        "no_csp",
        "tls_legacy",
    ]
    with pytest.raises(StackError, match=r"unknown fault 'x' \(known: mock_fault, no_csp"):
        faults.validate(["x"], REGISTRY)


def test_fault_changes_restart_only_the_owning_services() -> None:
    bundled = load_definition("bundled")
    restart = faults.services_to_restart
    assert restart([], ["no_csp"], REGISTRY, bundled) == ["app"]
    assert restart(["no_csp"], ["no_csp", "tls_legacy"], REGISTRY, bundled) == ["nginx"]
    assert restart([], ["mock_fault"], REGISTRY, bundled) == ["spotify_mock"]
    assert restart([], ["sast_issue"], REGISTRY, bundled) == []  # a source variant: no restart
    assert restart(["tls_legacy"], ["tls_legacy"], REGISTRY, bundled) == []


def test_registry_comes_from_the_app_and_is_cached(tmp_path: Path) -> None:
    import sys

    cache = tmp_path / "faults.json"
    definition = load_definition("bundled")
    argv = [part.replace("{python}", sys.executable) for part in definition.faults_argv]
    registry = faults.load_registry(argv, cache=cache)
    assert "no_csp" in registry and registry["tls_legacy"].services == ["nginx"]
    assert cache.exists()
    again = faults.load_registry(["/nonexistent/python"], cache=cache)  # served from the cache
    assert again.keys() == registry.keys()


def test_no_registry_means_no_faults() -> None:
    assert faults.load_registry([]) == {}
    with pytest.raises(StackError, match="declares no fault registry"):
        faults.validate(["no_csp"], {})
