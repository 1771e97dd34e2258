"""``harness init``: probing small apps served on loopback, and the profile it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response, jsonify, make_response, redirect, request
from werkzeug.serving import make_server
from werkzeug.wrappers import Response as WerkzeugResponse

from harness.init_probe import probe
from harness.init_writer import render, validate
from harness.scope import ScopeGuard, scoped_client

LOOPBACK = ["127.0.0.0/8", "::1", "localhost"]

LOGIN_PAGE = """<!doctype html><html><body>
<form method="post" action="/session">
  <input type="hidden" name="authenticity_csrf" value="abc">
  <input type="email" name="email">
  <input type="password" name="secret">
  <button type="submit">Sign in</button>
</form></body></html>"""


def _full_app() -> Flask:
    """An app with a Swagger document, k8s-style health, metrics and a login form."""
    app = Flask("full")

    @app.after_request
    def echo(response: Response) -> Response:
        if "X-Correlation-ID" in request.headers:
            response.headers["X-Correlation-ID"] = request.headers["X-Correlation-ID"]
        return response

    @app.get("/")
    def home() -> Response:
        return make_response('<html><a href="/signin">sign in</a></html>')

    @app.get("/signin")
    def signin() -> Response:
        response = make_response(LOGIN_PAGE)
        response.set_cookie("theme", "dark")
        response.set_cookie("shop_sessid", "anon-1", httponly=True)
        return response

    @app.get("/v3/api-docs")
    def docs() -> Response:
        return jsonify(
            {
                "openapi": "3.0.3",
                "paths": {
                    "/api/auth/login": {"post": {}},
                    "/api/auth/logout": {"post": {}},
                    "/api/items": {"get": {}},
                },
            }
        )

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Response:
        return jsonify(status="ok")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response("# HELP up up\n# TYPE up gauge\nup 1\n", mimetype="text/plain")

    return app


def _redirecting_app() -> Flask:
    """Every anonymous visit is sent to a login page none of the usual paths name."""
    app = Flask("redirecting")

    @app.get("/")
    def home() -> WerkzeugResponse:
        return redirect("/auth/portal?next=/")

    @app.get("/auth/portal")
    def portal() -> Response:
        return make_response(LOGIN_PAGE.replace("authenticity_csrf", "csrfmiddlewaretoken"))

    return app


def _bare_app() -> Flask:
    app = Flask("bare")

    @app.get("/")
    def home() -> str:
        return "hello"

    return app


@pytest.fixture
def serve() -> Iterator[object]:
    servers = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def _probe(url: str, log_file: Path | None = None):  # type: ignore[no-untyped-def]
    with scoped_client(ScopeGuard(LOOPBACK), base_url=url) as client:
        return probe(client, url, log_file)


def test_full_app_guesses(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = serve(_full_app())
    log = tmp_path / "app.log"
    log.write_text('{"time": "t", "level": "info", "message": "up"}\n' * 3 + "plain\n")
    found = _probe(url, log)
    values = {g.key: g.value for g in found.guesses}
    assert values["target.openapi_path"] == "/v3/api-docs"
    assert values["auth.api_login_path"] == "/api/auth/login"
    assert values["auth.logout_path"] == "/api/auth/logout"
    assert values["target.live_path"] == "/healthz"
    assert values["target.ready_path"] == "/readyz"
    assert values["target.metrics_path"] == "/metrics"
    assert values["auth.flow"] == "form"
    assert values["auth.login_path"] == "/signin"
    assert values["auth.username_field"] == "email"
    assert values["auth.password_field"] == "secret"
    assert values["auth.csrf_field"] == "authenticity_csrf"
    assert values["auth.session_cookie"] == "shop_sessid"
    assert values["target.request_id_header"] == "X-Correlation-ID"
    assert values["logs.source"] == "file"
    assert any("3 of the last 4 lines are JSON objects" in note for note in found.notes)

    text = render("shop", found, LOOPBACK)
    profile = validate(text, "shop")
    assert profile.provider == "external" and profile.safety_mode == "safe"
    assert profile.target.base_url == url
    assert profile.auth.session_cookie == "shop_sessid"
    # Every guessed key carries its evidence on its own line.
    for line in text.splitlines():
        if line and not line.startswith(("#", "[", "description")):
            assert "  # " in line, line


def test_bare_app_writes_notes_not_guesses(serve) -> None:  # type: ignore[no-untyped-def]
    url = serve(_bare_app())
    found = _probe(url)
    text = render("bare", found, LOOPBACK)
    profile = validate(text, "bare")
    assert profile.auth.flow == "none"
    assert profile.auth.session_cookie is None
    assert profile.logs.source == "none"
    # A missing control is the user's to declare absent, not the probe's: a note, no `false`.
    assert profile.target.metrics_path == "/metrics"
    assert "# - GET /metrics: HTTP 404, not Prometheus text; OBS-01 fails unless" in text
    assert "name it in auth.session_cookie" in text
    assert "# - no OpenAPI document at /openapi.json" in text
    assert "echoed none of X-Request-ID" in text


def test_login_form_behind_a_redirect(serve) -> None:  # type: ignore[no-untyped-def]
    found = _probe(serve(_redirecting_app()))
    values = {g.key: g.value for g in found.guesses}
    assert values["auth.login_path"] == "/auth/portal"
    assert values["auth.csrf_field"] == "csrfmiddlewaretoken"


def _harness(*argv: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        env=dict(os.environ, HARNESS_CONFIG=str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_init_then_show(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = serve(_full_app())
    config = tmp_path / "harness.toml"
    done = _harness("init", "--url", url, "--name", "shop", "--out", str(config), config=config)
    assert done.returncode == 0, done.stderr
    assert "wrote profile 'shop'" in done.stderr
    shown = _harness("profile", "show", "shop", "--json", config=config)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["target"]["openapi_path"] == "/v3/api-docs"
    assert data["provider"] == "external" and data["safety"] == "safe"
    again = _harness("init", "--url", url, "--name", "shop", "--out", str(config), config=config)
    assert again.returncode == 2 and "already has a [profiles.shop] table" in again.stderr


def test_cli_init_refuses_out_of_scope_in_one_line(tmp_path: Path) -> None:
    done = _harness("init", "--url", "http://192.0.2.10", config=tmp_path / "harness.toml")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "harness: http://192.0.2.10 is outside the scope (loopback only by default); "
        "pass --allow HOST"
    ]


def test_cli_init_unreachable_target_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as spare:  # a loopback port nobody listens on
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    done = _harness("init", "--url", f"http://127.0.0.1:{port}", config=tmp_path / "h.toml")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"harness: http://127.0.0.1:{port}: no answer to GET /"
    )
