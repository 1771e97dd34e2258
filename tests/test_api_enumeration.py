"""API-05 probe against a small in-process login: alike answers pass; a different status or
message, or a slower answer for the existing account, is caught; lockouts are put aside."""

from __future__ import annotations

import json
import time
import uuid

import httpx
from openapi_docs import json_body  # tests/ is on sys.path

from harness.api.enumeration import Sampling, sample
from harness.api.enumeration_endpoints import (
    account_operations,
    form_login,
    json_login,
    operation_attempt,
)
from harness.operations import operations
from harness.profile import AuthSettings, User

AUTH = AuthSettings(
    flow="json-token", api_login_path="/token", users=[User(name="carol", password="right")]
)
FAST = Sampling(rounds=3, per_round=3, budget_s=30)


def _client(mode: str = "clean") -> httpx.Client:
    failures: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        name = body.get("username") or body.get("email")
        cid = {"correlation_id": str(uuid.uuid4())}
        if request.url.path == "/password-reset":
            if mode == "reset_leak" and name != "carol":
                return httpx.Response(404, json={"error": "no such account", **cid})
            return httpx.Response(
                202, json={"message": "if the account exists, mail is on its way"}
            )
        if name == "carol" and body.get("password") == "right":
            failures.pop(name, None)
            return httpx.Response(200, json={"access_token": "t"})
        if mode == "lockout":
            failures[name] = failures.get(name, 0) + 1
            if failures[name] >= 3:
                return httpx.Response(423, json={"error": "locked", **cid})
        if name == "carol" and mode == "slow":
            time.sleep(0.04)  # a password hash only for accounts that exist
        if name != "carol" and mode == "message":
            return httpx.Response(401, json={"error": f"unknown user {name}", **cid})
        if name != "carol" and mode == "status":
            return httpx.Response(404, json={"error": "invalid username or password", **cid})
        return httpx.Response(401, json={"error": "invalid username or password", **cid})

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t.test")


def _login(mode: str) -> list[str]:
    client = _client(mode)
    attempt = json_login(lambda: client, AUTH)
    result = sample("POST /token", attempt, "carol", reset=lambda: None, plan=FAST)
    assert result.compared
    return result.leaks


def test_alike_answers_pass_with_a_volatile_correlation_id() -> None:
    assert _login("clean") == []


def test_message_naming_an_unknown_user_is_caught() -> None:
    (leak,) = _login("message")
    assert leak.startswith("body: /error:")


def test_status_difference_is_caught() -> None:
    (leak,) = _login("status")
    assert leak == "status: existing account HTTP [401], unknown HTTP [404]"


def test_timing_difference_is_caught_and_stated() -> None:
    (leak,) = _login("slow")
    assert leak.startswith("timing: answers for the existing account are")


def test_lockout_answers_are_put_aside() -> None:
    client = _client("lockout")
    result = sample("POST /token", json_login(lambda: client, AUTH), "carol", plan=FAST)
    assert result.throttled > 0 and result.compared and result.leaks == []


def test_reset_operation_found_and_judged() -> None:
    document = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/password-reset": {
                "post": {
                    "requestBody": json_body({"email": {"type": "string"}}),
                    "responses": {"202": {"description": "ok"}},
                }
            }
        },
    }
    (account,) = account_operations(operations(document), AUTH)
    assert (account.kind, account.field) == ("reset", "email")
    plan = Sampling(rounds=2, per_round=2)
    for mode, leaks in (("clean", 0), ("reset_leak", 2)):
        client = _client(mode)

        def client_for(c: httpx.Client = client) -> httpx.Client:
            return c

        attempt = operation_attempt(client_for, account, "password", {})
        assert len(sample("reset", attempt, "carol", plan=plan).leaks) == leaks


def _form_client(leaky: bool) -> httpx.Client:
    def page(message: str = "") -> str:
        token = uuid.uuid4().hex  # a fresh CSRF token on every page: noise, not a leak
        return (
            "<html><body>\n"
            f"<p class='error'>{message}</p>\n"
            "<form method='post' action='/login'>\n"
            f"<input type='hidden' name='csrf_token' value='{token}'>\n"
            "<input name='username'><input type='password' name='password'>\n"
            "</form></body></html>\n"
        )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, text=page(), headers={"content-type": "text/html"})
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        if form["username"] == "carol" and form["password"] == "right":
            return httpx.Response(303, headers={"location": "/home"})
        message = "Invalid username or password"
        if leaky and form["username"] != "carol":
            message = "No such user"
        return httpx.Response(200, text=page(message), headers={"content-type": "text/html"})

    return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t.test")


def test_form_login_pages_compared_line_by_line() -> None:
    auth = AUTH.model_copy(update={"flow": "form", "login_path": "/login"})
    for leaky, leaks in ((False, 0), (True, 1)):
        client = _form_client(leaky)
        attempt = form_login(lambda c=client: c, auth)  # type: ignore[misc]
        result = sample("POST /login", attempt, "carol", plan=FAST)
        assert result.compared and len(result.leaks) == leaks, result.leaks
        if leaks:
            assert result.leaks[0].startswith("body: #1:")
