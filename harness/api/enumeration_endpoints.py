"""Where API-05 knocks: the profile's login routes and the registration and password-reset
operations discovery finds, each wrapped as an ``Attempt`` (name, password) -> Observation."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urljoin

import httpx
from pydantic import BaseModel

from harness.api.enumeration import Attempt, Observation
from harness.auth.forms import parse_page
from harness.operations import Operation, example
from harness.profile import AuthSettings

ClientFor = Callable[[], httpx.Client]
TIMEOUT_S = 10.0
_REGISTRATION = re.compile(r"regist|sign-?up|/join\b|/accounts?/?$", re.IGNORECASE)
_RESET = re.compile(r"reset|forgot|recover", re.IGNORECASE)
IDENTIFIERS = ("username", "email", "login", "user", "user_name", "name")


def _observe(call: Callable[[], httpx.Response]) -> Observation:
    started = time.perf_counter()
    try:
        response = call()
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return Observation(status=0, elapsed_ms=elapsed, error=f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    body: Any = response.text
    if "json" in response.headers.get("content-type", ""):
        with contextlib.suppress(ValueError):
            body = json.loads(response.content)
    return Observation(status=response.status_code, body=body, elapsed_ms=elapsed)


def json_login(client_for: ClientFor, auth: AuthSettings) -> Attempt:
    """POST ``auth.api_login_path`` with the profile's JSON credential fields."""
    path = auth.api_login_path
    assert path

    def attempt(name: str, password: str) -> Observation:
        body = {auth.username_field: name, auth.password_field: password}
        client = client_for()
        return _observe(lambda: client.post(path, json=body, timeout=TIMEOUT_S))

    return attempt


def form_login(client_for: ClientFor, auth: AuthSettings) -> Attempt:
    """The HTML login form at ``auth.login_path``: a fresh page (and CSRF token) per attempt;
    only the form's POST is timed."""

    def attempt(name: str, password: str) -> Observation:
        client = client_for()
        page = client.get(auth.login_path, timeout=TIMEOUT_S)
        info = parse_page(page.text)
        form = next((f for f in info.forms if f.has_password()), None)
        if form is None:
            return Observation(status=0, elapsed_ms=0.0, error="no login form with a password")
        data = form.values()
        data[auth.username_field] = name
        data[auth.password_field] = password
        action = urljoin(str(page.request.url), form.action or auth.login_path)
        return _observe(lambda: client.post(action, data=data, timeout=TIMEOUT_S))

    return attempt


class AccountOperation(BaseModel):
    """A registration or reset operation and the body field that names the account."""

    kind: str  # registration | reset
    op: Operation
    field: str
    needs_password: bool = False


def account_operations(ops: Sequence[Operation], auth: AuthSettings) -> list[AccountOperation]:
    """POST operations whose path says registration or password reset, with a field that
    names the account."""
    found: list[AccountOperation] = []
    for op in ops:
        if op.method != "POST" or op.path in (auth.api_login_path, auth.login_path):
            continue
        kind = (
            "reset"
            if _RESET.search(op.path)
            else "registration"
            if _REGISTRATION.search(op.path)
            else None
        )
        fields = op.body_fields()
        names = [auth.username_field, *IDENTIFIERS]
        field = next((n for n in names if n in fields), None)
        if kind is None or field is None:
            continue
        found.append(
            AccountOperation(
                kind=kind, op=op, field=field, needs_password=auth.password_field in fields
            )
        )
    return found


def operation_attempt(
    client_for: ClientFor, account: AccountOperation, password_field: str, headers: dict[str, str]
) -> Attempt:
    """The operation's own example body with the account named (and a password, if it takes
    one): registration and reset answer the same way for a name whatever the password."""
    op = account.op
    base = example(op.body_schema, None, None, "complete") if op.body_schema else {}

    def attempt(name: str, password: str) -> Observation:
        body = dict(base) if isinstance(base, dict) else {}
        body[account.field] = name
        if account.needs_password:
            body[password_field] = password
        client = client_for()
        call = (
            (lambda: client.post(op.path, data=body, headers=headers, timeout=TIMEOUT_S))
            if op.body_media_type and "form" in op.body_media_type
            else (lambda: client.post(op.path, json=body, headers=headers, timeout=TIMEOUT_S))
        )
        return _observe(call)

    return attempt
