"""The local provider against the real bundled stack: every service, every lifecycle op.

Uses the session ``stack`` (one per run, shared with the suites); tests that stop or
reconfigure services are ``disruptive`` and so hold the stack's exclusive lock. Run alone with
``.venv/bin/python -m pytest tests/test_stack_local.py -x -q``.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from harness.stack.base import ServiceState, Stack, StackError
from harness.stack.local import LocalStack
from harness.target import Target

SERVICES = {"app", "postgres", "redis", "nginx", "spotify_mock", "slskd_mock"}


@pytest.fixture
def local(stack: Stack) -> LocalStack:
    if not isinstance(stack, LocalStack):
        pytest.skip(f"the session profile's stack is {type(stack).__name__}, not the local one")
    return stack


def _wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _ready_status(target: Target) -> int:
    with target.client() as client:
        try:
            return client.get("/health/ready").status_code
        except httpx.HTTPError:
            return 0


def _login(client: httpx.Client) -> str:
    """Log in as alice (a seeded user of the reference app); return the CSRF token."""
    credentials = {"username": "alice", "password": "alice-pass-1"}
    response = client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def _pids(local: LocalStack) -> dict[str, int | None]:
    return {name: status.pid for name, status in local.status().items()}


# -- the stack as started ------------------------------------------------------------------------
def test_every_service_is_up_and_answers(local: LocalStack, target: Target) -> None:
    status = local.status()
    assert set(status) == SERVICES
    assert all(s.state is ServiceState.RUNNING for s in status.values()), status
    # The public URL is https through nginx, verified against the run's own CA.
    assert local.url("app").startswith("https://127.0.0.1:")
    assert local.ca_bundle and target.verify == local.ca_bundle
    with target.client() as client:
        ready = client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["status"] == "ok"
    # The app's own port, the mocks and the datastores, each with its own protocol.
    assert httpx.get(local.url("app_direct") + "/health/live", timeout=5).status_code == 200
    for mock in ("spotify_mock", "slskd_mock"):
        assert httpx.get(local.url(mock) + "/_mock/requests", timeout=5).status_code == 200
    with psycopg.connect(local.url("postgres"), connect_timeout=5) as connection:
        row = connection.execute("select current_database(), current_user").fetchone()
    assert row == ("bridge", "bridge")
    redis = urlsplit(local.url("redis"))
    with socket.create_connection((redis.hostname, redis.port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(16).startswith(b"+PONG")


def test_services_listen_on_loopback_only(local: LocalStack) -> None:
    for name, url in local.state.urls.items():
        assert urlsplit(url).hostname == "127.0.0.1", (name, url)


def test_postgres_runs_unprivileged(local: LocalStack) -> None:
    import os

    pid = local.status()["postgres"].pid
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uid = int(next(line for line in status if line.startswith("Uid:")).split()[1])
    data_dir = local.run_dir / "postgres" / "data"
    assert uid == data_dir.stat().st_uid  # it owns its data dir...
    if os.geteuid() == 0:
        assert uid != 0  # ...and is not root (postgres refuses; so do we)


def test_logs_and_marks(local: LocalStack, target: Target) -> None:
    mark = local.mark("app")
    request_id = "stack-test-" + secrets.token_hex(4)
    with target.client() as client:
        client.get("/api/v1/version", headers={"X-Request-ID": request_id})
    assert _wait_for(lambda: any(request_id in line for line in local.logs("app", mark)), 5)
    assert all(request_id not in line for line in local.logs("app")[:mark])
    nginx_mark = local.mark("nginx")
    with target.client() as client:
        client.get("/health/live")
    assert _wait_for(lambda: len(local.logs("nginx", nginx_mark)) > 0, 5)


def test_exec_runs_with_the_service_environment(local: LocalStack) -> None:
    psql = local.exec("postgres", ["psql", "-tAc", "select 40 + 2"])
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == "42"
    faults = local.exec("app", ["python", "-m", "bridge", "faults", "--json"])
    assert faults.returncode == 0, faults.stderr
    assert '"name"' in faults.stdout
    env = local.exec("app", ["python", "-c", "import os; print(os.environ['DATABASE_URL'])"])
    assert env.stdout.strip().startswith("postgresql+psycopg://bridge@127.0.0.1:")


def test_attach_sees_the_same_stack(local: LocalStack) -> None:
    from harness.stack import attach

    other = attach(local.state_path)
    assert other.url("app") == local.url("app")
    assert {n: s.state for n, s in other.status().items()} == {
        n: s.state for n, s in local.status().items()
    }


def test_unknown_service_is_a_clear_error(local: LocalStack) -> None:
    with pytest.raises(KeyError, match="no URL for 'nope'"):
        local.url("nope")
    with pytest.raises(StackError, match="no service 'nope'"):
        local.restart("nope")


# -- lifecycle ----------------------------------------------------------------------------------
@pytest.mark.disruptive
def test_restarting_the_app_keeps_postgres_data(local: LocalStack, target: Target) -> None:
    name = "restart-" + secrets.token_hex(4)
    with target.client() as client:
        csrf = _login(client)
        created = client.post(
            "/api/v1/playlists", json={"name": name}, headers={"X-CSRF-Token": csrf}
        )
        assert created.status_code == 201, created.text
        playlist_id = created.json()["id"]
    before = _pids(local)
    local.restart("app")
    after = _pids(local)
    assert after["app"] != before["app"]
    assert after["postgres"] == before["postgres"]  # only the app restarted
    with target.client() as client:
        _login(client)
        fetched = client.get(f"/api/v1/playlists/{playlist_id}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["name"] == name


@pytest.mark.disruptive
def test_redis_outage_turns_readiness_503_and_back(local: LocalStack, target: Target) -> None:
    assert _ready_status(target) == 200
    with target.client() as session:
        _login(session)
        local.stop("redis")
        try:
            assert local.status()["redis"].state is ServiceState.STOPPED
            assert _wait_for(lambda: _ready_status(target) == 503), "ready without Redis"
        finally:
            local.start("redis")
        assert local.status()["redis"].state is ServiceState.RUNNING
        assert _wait_for(lambda: _ready_status(target) == 200), "readiness did not recover"
        # Redis snapshots on a clean stop: sessions other tests hold survive the outage.
        assert session.get("/api/v1/me").status_code == 200


@pytest.mark.disruptive
def test_swap_release_down_and_up(local: LocalStack, target: Target) -> None:
    def version() -> dict[str, object]:
        with target.client() as client:
            data: dict[str, object] = client.get("/api/v1/version").json()
            return data

    assert version()["release"] == 2
    local.swap("app", "1")
    try:
        assert version()["release"] == 1
        assert local.state.release == "1"
    finally:
        local.swap("app", "2")
    assert version()["release"] == 2


@pytest.mark.disruptive
def test_apply_faults_restarts_only_the_services_involved(
    local: LocalStack, target: Target
) -> None:
    with pytest.raises(StackError, match="unknown fault 'no_such_fault'"):
        local.apply_faults(["no_such_fault"])
    before = _pids(local)
    local.apply_faults(["no_csp"])
    try:
        middle = _pids(local)
        assert middle["app"] != before["app"] and middle["nginx"] == before["nginx"]
        with target.client() as client:
            assert "content-security-policy" not in client.get("/login").headers
        local.apply_faults(["no_csp", "tls_legacy"])  # adds an nginx fault: nginx only
        after = _pids(local)
        assert after["nginx"] != middle["nginx"] and after["app"] == middle["app"]
        assert "tls_legacy" in (local.status()["nginx"].detail or "")
        conf = (local.run_dir / "nginx" / "nginx.conf").read_text()
        assert "TLSv1.1" in conf
    finally:
        local.apply_faults([])
    final = _pids(local)
    assert final["postgres"] == before["postgres"] and final["redis"] == before["redis"]
    with target.client() as client:
        assert "content-security-policy" in client.get("/login").headers


@pytest.mark.disruptive
def test_heal_restores_what_a_test_left_behind(local: LocalStack, target: Target) -> None:
    baseline = local.baseline()
    local.apply_faults(["no_csp"])  # first: the app is ready only with Redis up
    local.stop("redis")
    try:
        actions = local.heal(*baseline)
    finally:
        local.heal(*baseline)  # whatever happened, the next test gets a clean stack
    assert actions == ["started redis", "faults back to none"]
    assert local.baseline() == baseline
    assert all(s.state is ServiceState.RUNNING for s in local.status().values())
    with target.client() as client:
        assert "content-security-policy" in client.get("/login").headers
    assert local.heal(*baseline) == []
