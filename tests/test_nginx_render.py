"""nginx.conf rendering, and the rendered config served by a real nginx with real certificates."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.stack.certs import TlsMaterial, make_tls_material
from harness.stack.nginx import (
    DEFAULT_SECURITY_HEADERS,
    nginx_argv,
    nginx_test_argv,
    render_nginx_config,
)

REPO = Path(__file__).resolve().parents[1]
VENV_PYTHON = REPO / ".venv/bin/python"
PYTHON = str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")

MOZILLA_INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)


def _render(tmp: Path, **overrides: object) -> str:
    args: dict[str, object] = {
        "http_port": 18080,
        "https_port": 18443,
        "upstream": "127.0.0.1:18000",
        "cert": tmp / "server.pem",
        "key": tmp / "server.key",
        "runtime_dir": tmp / "run",
    }
    args.update(overrides)
    return render_nginx_config(**args)  # type: ignore[arg-type]


def _directives(conf: str, name: str) -> list[str]:
    out = []
    for line in conf.splitlines():
        words = line.strip().rstrip(";").split(None, 1)
        if words and words[0] == name and words[-1] != "{":
            out.append(words[1] if len(words) > 1 else "")
    return out


# --- rendering -----------------------------------------------------------------------------


def test_render_default_is_hardened(tmp_path: Path) -> None:
    conf = _render(tmp_path)
    run = str(tmp_path / "run")
    assert _directives(conf, "ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    assert _directives(conf, "ssl_ciphers") == [MOZILLA_INTERMEDIATE]
    assert _directives(conf, "ssl_prefer_server_ciphers") == ["off"]
    assert _directives(conf, "ssl_session_tickets") == ["off"]
    assert _directives(conf, "server_tokens") == ["off"]
    # The app's (absent) Server header passes instead of "nginx" (SEC-07 product banner).
    assert _directives(conf, "proxy_pass_header") == ["Server"]
    assert _directives(conf, "gzip") == ["off"]
    assert _directives(conf, "daemon") == ["off"]
    assert _directives(conf, "master_process") == ["on"]
    assert _directives(conf, "pid") == [f"{run}/nginx.pid"]
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert _directives(conf, f"{temp}_temp_path") == [f"{run}/{temp}_temp"]
    assert _directives(conf, "error_log")[0].startswith(f"{run}/")
    assert _directives(conf, "access_log")[0].startswith(f"{run}/")
    assert "X-Request-ID $http_x_request_id" in _directives(conf, "proxy_set_header")
    assert "X-Real-IP $remote_addr" in _directives(conf, "proxy_set_header")
    assert "X-Forwarded-Proto $scheme" in _directives(conf, "proxy_set_header")
    assert _directives(conf, "listen") == ["127.0.0.1:18080", "127.0.0.1:18443 ssl http2"]
    assert _directives(conf, "server") == ["127.0.0.1:18000 max_fails=1 fail_timeout=2s"]
    assert "TLSv1.1" not in conf and "SECLEVEL" not in conf
    # HSTS is the app's job on proxied responses; nginx adds headers only on its error page.
    assert all(line.endswith("always") for line in _directives(conf, "add_header"))
    assert conf.count("Strict-Transport-Security") == 1


def test_render_tls_legacy_fault(tmp_path: Path) -> None:
    conf = _render(tmp_path, tls_legacy=True)
    assert _directives(conf, "ssl_protocols") == ["TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"]
    (ciphers,) = _directives(conf, "ssl_ciphers")
    assert ciphers.endswith("@SECLEVEL=0") and "DES-CBC3-SHA" in ciphers


def test_render_blue_green_and_validation(tmp_path: Path) -> None:
    conf = _render(tmp_path, upstream=None, upstream_servers=["127.0.0.1:9001", "127.0.0.1:9002"])
    assert _directives(conf, "server") == [
        "127.0.0.1:9001 max_fails=1 fail_timeout=2s",
        "127.0.0.1:9002 backup",
    ]
    with pytest.raises(ValueError):
        _render(tmp_path, upstream=None)
    with pytest.raises(ValueError):
        _render(tmp_path, upstream="127.0.0.1:1; include /etc/passwd")
    with pytest.raises(ValueError):
        _render(tmp_path, runtime_dir=tmp_path / "with space")
    assert _directives(_render(tmp_path, user=None), "user") == []
    assert _directives(_render(tmp_path, user="www-data"), "user") == ["www-data"]
    redirect_443 = _render(tmp_path, https_port=443)
    assert "return 301 https://$host$request_uri" in redirect_443


def test_nginx_argv() -> None:
    assert nginx_argv("/x/nginx.conf", "/x") == [
        "nginx",
        "-c",
        "/x/nginx.conf",
        "-p",
        "/x",
        "-e",
        "stderr",
    ]
    assert nginx_test_argv("/x/nginx.conf", "/x")[-1] == "-t"


def test_tls_material(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    material = make_tls_material(tmp_path / "tls")
    leaf = x509.load_pem_x509_certificates(material.cert.read_bytes())
    assert len(leaf) == 1  # the root CA is not in the served chain
    ca = x509.load_pem_x509_certificate(material.ca_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    cert = leaf[0]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days == 7
    assert cert.issuer == ca.subject
    assert material.key.stat().st_mode & 0o077 == 0


# --- a real nginx --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started in its own session, and anything it forked (nginx workers)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # nginx: fast shutdown; uvicorn: graceful
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group this test started
    proc.wait()


@dataclass
class Nginx:
    https: int
    http: int
    conf: Path
    prefix: Path


@dataclass
class Env:
    tls: TlsMaterial
    upstream: str
    good: Nginx  # hardened, in front of a live upstream
    legacy: Nginx  # tls_legacy, in front of a dead upstream
    blue_green: Nginx  # dead primary, live backup


def _start_nginx(
    root: Path,
    name: str,
    tls: TlsMaterial,
    upstreams: list[str],
    procs: list[subprocess.Popen[bytes]],
) -> Nginx:
    assert NGINX is not None
    prefix = root / name
    run = prefix / "run"
    run.mkdir(parents=True)
    ngx = Nginx(https=_free_port(), http=_free_port(), conf=prefix / "nginx.conf", prefix=prefix)
    ngx.conf.write_text(
        render_nginx_config(
            http_port=ngx.http,
            https_port=ngx.https,
            upstream_servers=upstreams,
            cert=tls.cert,
            key=tls.key,
            runtime_dir=run,
            tls_legacy=name == "legacy",
        )
    )
    check = subprocess.run(
        nginx_test_argv(ngx.conf, prefix, NGINX), capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        nginx_argv(ngx.conf, prefix, NGINX),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    procs.append(proc)
    _wait_port(ngx.https, proc)
    _wait_port(ngx.http, proc)
    return ngx


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    if NGINX is None:
        pytest.skip("nginx is not installed")
    root = tmp_path_factory.mktemp("nginx")
    tls = make_tls_material(root / "tls")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # The spotify mock as the upstream: it records the headers nginx forwards.
        port = _free_port()
        upstream = subprocess.Popen(
            [PYTHON, "-m", "spotify_mock", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        procs.append(upstream)
        live = f"127.0.0.1:{port}"
        dead = f"127.0.0.1:{_free_port()}"  # nothing listens there
        good = _start_nginx(root, "good", tls, [live], procs)
        legacy = _start_nginx(root, "legacy", tls, [dead], procs)
        blue_green = _start_nginx(root, "blue_green", tls, [dead, live], procs)
        _wait_port(port, upstream)
        yield Env(
            tls=tls,
            upstream=f"http://127.0.0.1:{port}",
            good=good,
            legacy=legacy,
            blue_green=blue_green,
        )
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _client(env: Env) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(env.tls.ca_cert)), timeout=10)


@needs_nginx
def test_https_proxies_with_forwarded_headers(env: Env) -> None:
    with _client(env) as client:
        httpx.post(f"{env.upstream}/_mock/reset")
        base = f"https://127.0.0.1:{env.good.https}"
        response = client.get(f"{base}/v1/me?x=1", headers={"X-Request-ID": "req-123"})
        assert response.status_code == 401  # the upstream's own answer, passed through
        # nginx adds no Server header of its own: the upstream's (here the mock's) passes.
        assert "nginx" not in response.headers.get("server", "")
        assert "strict-transport-security" not in response.headers  # the app's job
        client.get(f"https://localhost:{env.good.https}/v1/me")  # SAN covers localhost
        records = httpx.get(f"{env.upstream}/_mock/requests").json()
    first, second = records
    assert first["path"] == "/v1/me" and first["query"] == "x=1"
    headers = first["headers"]
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-request-id"] == "req-123"
    assert headers["host"] == f"127.0.0.1:{env.good.https}"
    assert "x-request-id" not in second["headers"]  # passed through, never generated


@needs_nginx
def test_http_redirects_to_https(env: Env) -> None:
    response = httpx.get(f"http://127.0.0.1:{env.good.http}/login?next=%2Fdashboard")
    assert response.status_code == 301
    assert response.headers["location"] == (
        f"https://127.0.0.1:{env.good.https}/login?next=%2Fdashboard"
    )


def _handshake(port: int, ca: Path, version: ssl.TLSVersion) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=str(ca))
        ctx.minimum_version = version
        ctx.maximum_version = version
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        return tls.version()


@needs_nginx
def test_tls_versions(env: Env) -> None:
    ca = env.tls.ca_cert
    assert _handshake(env.good.https, ca, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(env.good.https, ca, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    try:
        legacy = _handshake(env.legacy.https, ca, ssl.TLSVersion.TLSv1_1)
    except ssl.SSLError as exc:
        # This client's OpenSSL cannot speak TLS 1.1: fall back to nginx's own view.
        assert NGINX is not None
        dump = subprocess.run(
            [*nginx_argv(env.legacy.conf, env.legacy.prefix, NGINX), "-T"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        assert "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;" in dump
        pytest.skip(f"client cannot offer TLS 1.1 ({exc}); checked nginx -T instead")
    assert legacy == "TLSv1.1"  # the seeded fault is observable on the wire
    with pytest.raises(ssl.SSLError):
        _handshake(env.good.https, ca, ssl.TLSVersion.TLSv1_1)


@needs_nginx
def test_gateway_error_carries_security_headers(env: Env) -> None:
    with _client(env) as client:
        response = client.get(
            f"https://127.0.0.1:{env.legacy.https}/api/v1/me", headers={"X-Request-ID": "rid-9"}
        )
        bad_id = client.get(
            f"https://127.0.0.1:{env.legacy.https}/", headers={"X-Request-ID": 'x"y'}
        )
    assert response.status_code == 502
    for name, value in DEFAULT_SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == "bad_gateway"
    assert body["error"]["correlation_id"] == "rid-9"
    assert response.headers["x-request-id"] == "rid-9"
    assert "nginx/" not in response.text
    # a malformed client id is not echoed into the JSON body
    assert bad_id.status_code == 502
    generated = json.loads(bad_id.text)["error"]["correlation_id"]
    assert generated != 'x"y' and len(generated) == 32


@needs_nginx
def test_backup_upstream_takes_over(env: Env) -> None:
    with _client(env) as client:
        base = f"https://127.0.0.1:{env.blue_green.https}"
        for _ in range(3):
            assert client.get(f"{base}/_mock/health").status_code == 200
        # nothing reached the dead primary, so a POST is safe to pass on as well
        assert client.post(f"{base}/_mock/reset").status_code == 200
