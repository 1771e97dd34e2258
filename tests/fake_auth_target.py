"""A tiny in-process target (app + OAuth provider) for the auth adapter and probe unit tests.

Two Flask apps behind httpx's WSGI transport, dispatched by host:port, so the tests run in
milliseconds with no sockets, and https URLs (Secure cookies) work without TLS.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
from flask import Flask, jsonify, make_response, redirect, request
from openapi_docs import json_body  # tests/ is on sys.path

from harness.profile import Profile
from harness.target import Target

APP = "https://127.0.0.1:8443"
PROVIDER = "http://127.0.0.1:9001"
COOKIE = "bridge_session"


class FakeState:
    def __init__(self, **flags: Any) -> None:
        self.flags = flags
        self.sessions: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.failures: dict[str, int] = {}

    def new_session(self, user: str | None = None) -> str:
        sid = secrets.token_urlsafe(16)
        self.sessions[sid] = {
            "user": user,
            "csrf": secrets.token_urlsafe(8),
            "seen": time.time(),
            "created": time.time(),
        }
        return sid

    def current(self) -> dict[str, Any] | None:
        sid = request.cookies.get(COOKIE)
        data = self.sessions.get(sid or "")
        if data is None:
            return None
        idle = self.flags.get("idle_s")
        if idle and time.time() - data["seen"] > idle:
            return None
        data["seen"] = time.time()
        return data


def _cookie(response: Any, sid: str, state: FakeState) -> None:
    if state.flags.get("weak_cookie"):
        response.set_cookie(COOKIE, sid, path="/")
    else:
        response.set_cookie(COOKIE, sid, path="/", httponly=True, secure=True, samesite="Lax")


def make_app(state: FakeState) -> Flask:
    app = Flask("fake_app")

    @app.get("/auth/spotify/login")
    def oauth_start() -> Any:
        sid = request.cookies.get(COOKIE)
        if sid not in state.sessions:
            sid = state.new_session()
        verifier = secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        oauth_state = secrets.token_urlsafe(16)
        state.sessions[sid].update(verifier=verifier, state=oauth_state)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": "c",
                "state": oauth_state,
                "redirect_uri": APP + "/auth/spotify/callback",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        response = redirect(f"{PROVIDER}/authorize?{query}", 302)
        _cookie(response, sid, state)
        return response

    @app.get("/auth/spotify/callback")
    def oauth_callback() -> Any:
        sid = request.cookies.get(COOKIE, "")
        pre = state.sessions.get(sid)
        if pre is None:
            return jsonify(error="no session"), 400
        if not state.flags.get("no_state_check") and request.args.get("state") != pre.get("state"):
            return jsonify(error="bad state"), 400
        code = state.codes.pop(request.args.get("code", ""), None)
        if code is None:
            return jsonify(error="bad code"), 400
        token = {
            "access_token": secrets.token_urlsafe(24),
            "refresh_token": secrets.token_urlsafe(24),
            "user": code["user"],
            "revoked": False,
        }
        state.tokens.append(token)
        if state.flags.get("fixation"):
            pre["user"] = code["user"]
            new_sid = sid
        else:
            del state.sessions[sid]
            new_sid = state.new_session(code["user"])
        state.sessions[new_sid]["token"] = token
        response = redirect("/dashboard", 303)
        _cookie(response, new_sid, state)
        return response

    @app.get("/login")
    def login_page() -> Any:
        sid = state.new_session()
        csrf = state.sessions[sid]["csrf"]
        response = make_response(
            '<html><head><meta name="csrf-token" content="x"></head><body>'
            '<form method="post" action="/login">'
            f'<input type="hidden" name="csrf_token" value="{csrf}">'
            '<input name="username"><input type="password" name="password">'
            '<button type="submit">Log in</button></form></body></html>'
        )
        _cookie(response, sid, state)
        return response

    @app.post("/login")
    def login_post() -> Any:
        pre = state.sessions.get(request.cookies.get(COOKIE, ""))
        if pre is None or request.form.get("csrf_token") != pre["csrf"]:
            return "csrf", 403
        if request.form.get("password") != request.form.get("username", "") + "-pass":
            return redirect("/login?error=1", 303)
        sid = state.new_session(request.form["username"])
        response = redirect("/dashboard", 303)
        _cookie(response, sid, state)
        return response

    @app.post("/api/v1/auth/login")
    def api_login() -> Any:
        body = request.get_json(silent=True) or {}
        user = body.get("username", "")
        # lockout_key_header: the counter is per account and per value of that header.
        header = state.flags.get("lockout_key_header")
        key = f"{user}|{request.headers.get(header, '')}" if header else user
        if state.failures.get(key, 0) >= 3 and state.flags.get("lockout"):
            return jsonify(error="locked"), 423
        if body.get("password") != user + "-pass":
            state.failures[key] = state.failures.get(key, 0) + 1
            return jsonify(error="bad credentials"), 401
        sid = state.new_session(user)
        response = jsonify(user={"name": user}, csrf_token=state.sessions[sid]["csrf"])
        if state.flags.get("api_cookie_no_secure"):  # this login path alone drops Secure
            response.set_cookie(COOKIE, sid, path="/", httponly=True, samesite="Lax")
            return response
        _cookie(response, sid, state)
        return response

    @app.get("/api/v1/me")
    def me() -> Any:
        if request.headers.get("Authorization") == "Bearer tok-1":
            return jsonify(user="svc")
        data = state.current()
        if data is None or data["user"] is None:
            return jsonify(error="unauthenticated"), 401
        return jsonify(user=data["user"], csrf_token=data["csrf"])

    @app.post("/api/v1/auth/logout")
    def logout() -> Any:
        data = state.current()
        if data is None or request.headers.get("X-CSRF-Token") != data["csrf"]:
            return jsonify(error="forbidden"), 403
        if "token" in data and not state.flags.get("no_revoke"):
            data["token"]["revoked"] = True
            state.requests.append(
                {
                    "method": "POST",
                    "path": "/api/revoke",
                    "body": "token=" + data["token"]["access_token"],
                }
            )
        if not state.flags.get("keep_session"):
            state.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = make_response("", 204)
        response.delete_cookie(COOKIE)
        return response

    items: dict[int, dict[str, Any]] = {}

    @app.get("/api/items")
    def list_items() -> Any:
        data = state.current()
        if data is None or data["user"] is None:
            return jsonify(error="unauthenticated"), 401
        return jsonify([i for i in items.values() if i["owner"] == data["user"]])

    @app.post("/api/items")
    def create_item() -> Any:
        data = state.current()
        if data is None or data["user"] is None:
            return jsonify(error="unauthenticated"), 401
        item = {"id": len(items) + 1, "owner": data["user"], **(request.get_json() or {})}
        items[item["id"]] = item
        return jsonify(item), 201

    @app.route("/api/items/<int:item_id>", methods=["GET", "DELETE"])
    def one_item(item_id: int) -> Any:
        data = state.current()
        anonymous = data is None or data["user"] is None
        if anonymous and not (state.flags.get("unauth_delete") and request.method == "DELETE"):
            return jsonify(error="unauthenticated"), 401
        item = items.get(item_id)
        owner_ok = (
            state.flags.get("idor")
            or state.flags.get("unauth_delete")
            or (data is not None and item is not None and item["owner"] == data["user"])
        )
        if item is None or not owner_ok:
            return jsonify(error="not found"), 404
        if request.method == "DELETE":
            del items[item_id]
            return "", 204
        return jsonify(item)

    @app.get("/dashboard")
    def dashboard() -> Any:
        return "<html><body>dash</body></html>"

    return app


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/api/v1/auth/login": {
            "post": {"requestBody": json_body({"username": {"type": "string"}})}
        },
        "/api/items": {
            "get": {"security": [{"cookie": []}]},
            "post": {"requestBody": json_body({"name": {"type": "string"}}, required=["name"])},
        },
        "/api/items/{item_id}": {
            "parameters": [
                {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "get": {"security": [{"cookie": []}]},
            "delete": {},
        },
    },
}


def make_provider(state: FakeState) -> Flask:
    app = Flask("fake_provider")

    @app.get("/authorize")
    def authorize() -> Any:
        rid = secrets.token_urlsafe(8)
        state.pending[rid] = dict(request.args)
        return (
            '<html><body><form id="consent" method="post" action="/authorize/decision">'
            f'<input type="hidden" name="request_id" value="{rid}">'
            '<input id="user" name="user" type="text" value="alice">'
            '<button id="approve" type="submit" name="decision" value="approve">Agree</button>'
            '<button id="deny" type="submit" name="decision" value="deny">Cancel</button>'
            "</form></body></html>"
        )

    @app.post("/authorize/decision")
    def decision() -> Any:
        pending = state.pending.pop(request.form.get("request_id", ""), None)
        if pending is None or request.form.get("decision") != "approve":
            return "no", 400
        code = secrets.token_urlsafe(8)
        state.codes[code] = {"user": request.form["user"]}
        query = urlencode({"code": code, "state": pending.get("state", "")})
        return redirect(f"{pending['redirect_uri']}?{query}", 302)

    @app.get("/_mock/tokens")
    def tokens() -> Any:
        return jsonify(state.tokens)

    @app.get("/_mock/requests")
    def requests_log() -> Any:
        return jsonify(state.requests)

    return app


class _Dispatch(httpx.BaseTransport):
    def __init__(self, apps: dict[str, httpx.BaseTransport]) -> None:
        self.apps = apps

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        return self.apps[key].handle_request(request)


class FakeStack:
    """Just ``url(service)`` for the services a Target asks for."""

    name = "fake"
    services = ["app", "spotify_mock"]

    def url(self, service: str) -> str:
        return {"app": APP, "spotify_mock": PROVIDER}[service]


class FakeTarget(Target):
    def __init__(self, profile: Profile, transport: httpx.BaseTransport) -> None:
        super().__init__(profile, stack=FakeStack())  # type: ignore[arg-type]
        self._transport = transport

    def client(self, *, base: str | None = None, **kwargs: Any) -> httpx.Client:
        kwargs.pop("local_address", None)
        kwargs["transport"] = self._transport
        return super().client(base=base, **kwargs)


def fake_target(flow: str = "oauth-pkce", **flags: Any) -> tuple[FakeTarget, FakeState]:
    state = FakeState(**flags)
    transport = _Dispatch(
        {
            "https://127.0.0.1:8443": httpx.WSGITransport(app=make_app(state)),
            "http://127.0.0.1:9001": httpx.WSGITransport(app=make_provider(state)),
        }
    )
    profile = Profile.model_validate(
        {
            "name": "fake",
            "auth": {
                "flow": flow,
                # The fake app's routes, as a profile for it would name them.
                "api_login_path": "/api/v1/auth/login",
                "logout_path": "/api/v1/auth/logout",
                "me_path": "/api/v1/me",
                "session_cookie": COOKIE,
                "csrf_header": "X-CSRF-Token",
                "oauth": {
                    "start_path": "/auth/spotify/login",
                    "callback_path": "/auth/spotify/callback",
                    "provider_service": "spotify_mock",
                    "tokens_path": "/_mock/tokens",
                    "requests_path": "/_mock/requests",
                },
                "lockout_user": "carol",
                "users": [
                    {"name": "alice", "password": "alice-pass"},
                    {"name": "bob", "password": "bob-pass"},
                    {"name": "carol", "password": "carol-pass"},
                    {"name": "svc", "token": "tok-1"},
                ],
            },
            "session": {"idle_timeout_s": 1, "absolute_timeout_s": 3},
            "target": {"pages": ["/dashboard"]},
        }
    )
    return FakeTarget(profile, transport), state
