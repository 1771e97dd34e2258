"""A tiny server-rendered shop with no OpenAPI document, for the crawl-based controls.

Form login (``alice``/``bob``, password ``pw``), a search form, an item form protected by a
hidden per-session CSRF token, and one seeded weakness: the notes form has no token and
takes cross-site posts. Every unknown path answers 200 with the HTML shell, as single-page
and server-rendered apps often do (so ``/openapi.json`` is "there" but is no document).
"""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, redirect, request
from werkzeug.serving import make_server

USERS = {"alice": "pw", "bob": "pw"}
SHELL = "<!doctype html><html><body><div id='app'>shop</div></body></html>"


def make_app() -> Flask:
    app = Flask("formshop")
    sessions: dict[str, dict[str, Any]] = {}
    items: list[str] = ["alpha", "beta"]

    def current() -> dict[str, Any] | None:
        return sessions.get(request.cookies.get("sid", ""))

    def page(body: str, status: int = 200) -> Response:
        return Response(
            f"<!doctype html><html><body>{body}</body></html>", status, mimetype="text/html"
        )

    @app.get("/login")
    def login_page() -> Any:
        return page(
            '<form method="post" action="/login"><input name="username">'
            '<input type="password" name="password"><button>Sign in</button></form>'
        )

    @app.post("/login")
    def login_post() -> Any:
        name = request.form.get("username", "")
        if USERS.get(name) != request.form.get("password"):
            return redirect("/login", 303)
        sid = secrets.token_hex(8)
        sessions[sid] = {"user": name, "token": secrets.token_hex(8)}
        answer = redirect("/", 303)
        answer.set_cookie("sid", sid, httponly=True, samesite="Lax")
        return answer

    @app.before_request
    def require_login() -> Any:
        public = request.endpoint in ("login_page", "login_post", "shell")
        if not public and request.endpoint and current() is None:
            return redirect("/login", 303)
        return None

    @app.get("/")
    def home() -> Any:
        me = current()
        assert me is not None
        return page(
            '<a href="/items?page=1">items</a><a href="/logout">log out</a>'
            '<form action="/search"><input name="q" maxlength="30"><button>Search</button></form>'
            f'<form method="post" action="/items"><input type="hidden" name="csrf_token" '
            f'value="{me["token"]}"><input name="title" required minlength="3" maxlength="40">'
            "<button>Add</button></form>"
            '<form method="post" action="/notes"><textarea name="text"></textarea>'
            "<button>Note</button></form>"
        )

    @app.get("/search")
    def search() -> Any:
        q = request.args.get("q", "")
        found = [i for i in items if q.lower() in i.lower()]
        return page("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in found) + "</ul>")

    @app.get("/items")
    def list_items() -> Any:
        number = request.args.get("page", "1")
        if not number.isdigit():
            return page("<p>bad page number</p>", 400)
        return page("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")

    @app.post("/items")
    def add_item() -> Any:
        me = current()
        assert me is not None
        if request.form.get("csrf_token") != me["token"]:
            return page("<p>invalid CSRF token</p>", 403)
        title = request.form.get("title", "")
        if not 3 <= len(title) <= 40:
            return page("<p>title must be 3 to 40 characters</p>", 400)
        items.append(title)
        return redirect("/items", 303)

    @app.post("/notes")
    def add_note() -> Any:
        # The seeded weakness: no token, no Origin check.
        items.append("note: " + request.form.get("text", "")[:40])
        return redirect("/", 303)

    @app.get("/logout")
    def logout() -> Any:
        sessions.pop(request.cookies.get("sid", ""), None)
        return redirect("/login", 303)

    @app.route("/<path:anything>")
    def shell(anything: str) -> Any:
        return page(SHELL)

    return app


@contextmanager
def serving() -> Iterator[str]:
    """The app on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
