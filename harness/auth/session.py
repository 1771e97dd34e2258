"""A logged-in (or anonymous) user of the target: a cookie jar, a CSRF token, the login trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.profile import User
from harness.target import Target

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthError(Exception):
    """A login flow did not end in an authenticated session; the message says which step."""

    def __init__(self, message: str, responses: list[httpx.Response] | None = None) -> None:
        super().__init__(message)
        self.responses = list(responses or [])


@dataclass
class Session:
    """One user's session against the target.

    ``client`` carries the cookie jar (the base URL is https, so Secure cookies are sent);
    ``steps`` holds every response of the login, in order, so tests can attach them as
    evidence or read raw ``Set-Cookie`` headers.
    """

    target: Target
    client: httpx.Client
    flow: str
    user: User | None = None
    csrf_token: str | None = None
    steps: list[httpx.Response] = field(default_factory=list)
    login_json: dict[str, Any] | None = None
    local_address: str | None = None

    # -- identity --------------------------------------------------------------------------
    @property
    def user_name(self) -> str | None:
        return self.user.name if self.user else None

    @property
    def cookie_name(self) -> str:
        return self.target.profile.auth.require_session_cookie()

    @property
    def cookie_value(self) -> str | None:
        """The session cookie's current value in the jar (None for bearer/none flows)."""
        return cookie_from_jar(self.client, self.cookie_name)

    @property
    def login_response(self) -> httpx.Response | None:
        return self.steps[-1] if self.steps else None

    def set_cookie_headers(self) -> list[str]:
        """Every raw Set-Cookie header of the login trail that sets the session cookie."""
        prefix = self.cookie_name + "="
        return [
            value
            for response in self.steps
            for value in response.headers.get_list("set-cookie")
            if value.strip().startswith(prefix)
        ]

    # -- requests --------------------------------------------------------------------------
    def headers_for_write(self) -> dict[str, str]:
        """Headers a state-changing request of this session needs (the CSRF header)."""
        header = self.target.profile.auth.csrf_header
        if header and self.csrf_token and self.flow not in ("bearer", "none"):
            return {header: self.csrf_token}
        return {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request with the session's credentials; CSRF headers added for unsafe methods."""
        if method.upper() in UNSAFE_METHODS:
            headers = {**self.headers_for_write(), **dict(kwargs.pop("headers", None) or {})}
            kwargs["headers"] = headers
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def me(self) -> httpx.Response:
        return self.client.get(self.target.profile.auth.require_me_path())

    def is_authenticated(self) -> bool:
        return self.me().status_code == 200

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cookie_from_jar(client: httpx.Client, name: str) -> str | None:
    # httpx's Cookies.get raises on the same name for two domains; the newest wins here.
    value = None
    for cookie in client.cookies.jar:
        if cookie.name == name:
            value = cookie.value
    return value


def with_cookie(
    target: Target, value: str, *, name: str | None = None, **client_kwargs: Any
) -> httpx.Client:
    """A fresh client with no jar that presents exactly one session cookie value (replays)."""
    cookie = name or target.profile.auth.require_session_cookie()
    client = target.client(**client_kwargs)
    client.headers["Cookie"] = f"{cookie}={value}"
    return client
