"""The scope guard refuses out-of-scope targets before a single packet (or DNS query) leaves.

Proof is at two levels: the inner transport records every request it is handed, and the
socket module's connect and resolve functions are replaced by ones that fail the test.
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.profile import Profile, TargetSettings
from harness.scope import (
    OutOfScope,
    ScopeGuard,
    scoped_async_client,
    scoped_client,
    tls_context,
)
from harness.stack.definition import HealthCheck
from harness.stack.health import probe
from harness.target import Target

OUT_OF_SCOPE = [
    "http://10.1.2.3/",
    "http://example.com/",
    "https://192.168.1.1:8443/x",
    "http://[2001:db8::1]/",
    "http://localhost.example.com/",
]
LOOPBACK = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])


class RecordingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return httpx.Response(200, text="ok")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail loudly on any connect or name resolution; record what was attempted."""
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def _refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args}")
            raise AssertionError(f"network touched: {name}{args}")

        return _refuse

    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    return attempts


@pytest.mark.parametrize("url", OUT_OF_SCOPE)
def test_guard_refuses_without_any_packet(url: str, no_network: list[str]) -> None:
    recorder = RecordingTransport()
    with scoped_client(LOOPBACK, transport=recorder) as client, pytest.raises(OutOfScope):
        client.get(url)
    assert recorder.calls == []
    assert no_network == []


@pytest.mark.parametrize("url", OUT_OF_SCOPE[:2])
def test_real_transport_refuses_without_any_packet(url: str, no_network: list[str]) -> None:
    with scoped_client(LOOPBACK) as client, pytest.raises(OutOfScope, match="outside the scope"):
        client.get(url)
    assert no_network == []


async def _async_get(url: str) -> None:
    async with scoped_async_client(LOOPBACK) as client:
        await client.get(url)


def test_async_client_refuses(no_network: list[str]) -> None:
    import asyncio

    with pytest.raises(OutOfScope):
        asyncio.run(_async_get("http://10.1.2.3/"))
    assert no_network == []


def test_redirect_out_of_scope_is_refused(no_network: list[str]) -> None:
    class Redirecting(RecordingTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            self.calls.append(request)
            return httpx.Response(302, headers={"Location": "http://example.com/steal"})

    recorder = Redirecting()
    client = scoped_client(LOOPBACK, transport=recorder, follow_redirects=True)
    with client, pytest.raises(OutOfScope):
        client.get("http://127.0.0.1:9/start")
    assert [str(r.url) for r in recorder.calls] == ["http://127.0.0.1:9/start"]


def test_loopback_is_allowed_through(no_network: list[str]) -> None:
    recorder = RecordingTransport()
    with scoped_client(LOOPBACK, transport=recorder) as client:
        for url in (
            "http://127.0.0.1:8000/",
            "http://127.9.9.9/",
            "http://[::1]:1/",
            "http://localhost/",
        ):
            assert client.get(url).status_code == 200
    assert len(recorder.calls) == 4


def test_target_refuses_out_of_scope_base_url(no_network: list[str]) -> None:
    for url in ("http://10.1.2.3/", "http://example.com/"):
        profile = Profile(name="t", provider="external", target=TargetSettings(base_url=url))
        with pytest.raises(OutOfScope):
            _ = Target(profile).base_url
    assert no_network == []


def test_readiness_probes_are_guarded_too(no_network: list[str]) -> None:
    for kind in ("http", "https", "postgres", "redis", "tcp"):
        with pytest.raises(OutOfScope):
            probe(HealthCheck(type=kind), "http://10.1.2.3:5432/")  # type: ignore[arg-type]
    assert no_network == []


def test_external_stack_status_is_guarded(no_network: list[str]) -> None:
    from harness.stack.external import ExternalStack

    profile = Profile(
        name="t", provider="external", target=TargetSettings(base_url="http://example.com")
    )
    status = ExternalStack(profile).status()
    assert status["app"].state == "failed"
    assert "outside the scope" in (status["app"].detail or "")
    assert no_network == []


def test_allow_list_parsing() -> None:
    guard = ScopeGuard(["10.0.0.0/8", "app.test", "::1"])
    assert guard.allows_host("10.1.2.3")
    assert guard.allows_host("APP.test.")
    assert guard.allows_host("[::1]")
    assert not guard.allows_host("127.0.0.1")
    assert not guard.allows_host("sub.app.test")


def certifi_bundle() -> str:
    import certifi

    return Path(certifi.where()).read_text(encoding="ascii")


def test_tls_context_is_built_once_per_bundle_and_again_when_the_bundle_changes(
    tmp_path: Path,
) -> None:
    # A CA bundle is parsed once per process (it costs 40-200 ms a client otherwise); a bundle
    # rewritten in place (a stack that regenerated its CA) is read again.
    assert tls_context(True) is tls_context(True)
    assert tls_context(False) is tls_context(False)
    assert tls_context(False).verify_mode == ssl.CERT_NONE
    bundle = tmp_path / "ca.pem"
    bundle.write_text(certifi_bundle(), encoding="ascii")
    first = tls_context(str(bundle))
    assert tls_context(str(bundle)) is first
    os.utime(bundle, ns=(1, 1))
    assert tls_context(str(bundle)) is not first
