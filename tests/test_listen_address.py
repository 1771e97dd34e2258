"""profile.listen: where the local stack's front end listens (e.g. a Docker bridge address a
scanner container can reach), checked against scope.allow, rendered into nginx and the
server certificate."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from harness.profile import Profile, load_profile
from harness.stack.certs import make_tls_material
from harness.stack.health import LOOPBACK_SCOPE, health_scope
from harness.stack.nginx import render_nginx_config


def _profile(**data: Any) -> Profile:
    return Profile.model_validate(data)


def test_listen_defaults_to_loopback_and_its_address_alone_joins_the_scope() -> None:
    assert _profile().listen == "127.0.0.1"
    assert _profile().scope.allow == ["127.0.0.0/8", "::1", "localhost"]
    bridge = _profile(listen="172.18.0.3", scope={"allow": ["127.0.0.0/8", "zap"]})
    assert bridge.scope.allow == ["127.0.0.0/8", "zap", "172.18.0.3"]


def test_harness_listen_overrides_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "harness.toml"
    config.write_text('[profiles.a]\nprovider = "local"\n[profiles.b]\nextends = "a"\n')
    monkeypatch.setenv("HARNESS_LISTEN", "172.18.0.3")
    profile = load_profile("b", config)
    assert profile.listen == "172.18.0.3" and "172.18.0.3" in profile.scope.allow


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"listen": "docker0"}, "write an IP address"),
        (
            {
                "listen": "172.17.0.1",
                "provider": "containers",
                "scope": {"allow": ["172.17.0.1"]},
            },
            "only provider = 'local'",
        ),
    ],
)
def test_a_bad_listen_is_one_line(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _profile(**data)


def test_nginx_listens_on_it_and_the_certificate_names_it(tmp_path: Path) -> None:
    text = render_nginx_config(
        http_port=8080,
        https_port=8443,
        upstream="127.0.0.1:9000",
        cert=tmp_path / "c.pem",
        key=tmp_path / "k.pem",
        runtime_dir=tmp_path,
        listen="172.17.0.1",
    )
    assert "listen 172.17.0.1:8080;" in text and "listen 172.17.0.1:8443 ssl" in text
    assert "listen 127.0.0.1" not in text
    material = make_tls_material(tmp_path / "tls", extra_ips=["172.17.0.1"])
    cert = x509.load_pem_x509_certificate(material.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("172.17.0.1") in names.get_values_for_type(x509.IPAddress)
    # The readiness probe may reach that address too, and only that one beyond loopback.
    assert health_scope("127.0.0.1") is LOOPBACK_SCOPE
    health_scope("172.17.0.1").check("https://172.17.0.1:8443/health/live")
    with pytest.raises(Exception, match="scope"):
        health_scope("172.17.0.1").check("https://172.17.0.2:8443/health/live")


def test_the_reference_oauth_mock_accepts_the_apps_own_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from spotify_mock.app import Settings, redirect_uri_allowed

    callback = "https://172.18.0.3:8443/auth/spotify/callback"
    assert not redirect_uri_allowed(Settings.from_env(), callback)
    monkeypatch.setenv("SPOTIFY_APP_HOST", "172.18.0.3")
    assert redirect_uri_allowed(Settings.from_env(), callback)
    assert not redirect_uri_allowed(Settings.from_env(), "https://172.18.0.4/cb")
