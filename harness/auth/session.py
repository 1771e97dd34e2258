"""A logged-in (or anonymous) user of the target: its credential, CSRF token, the login trail.

The Session is the one place that knows how this user proves who it is (a cookie jar, an
``Authorization`` header, an API-key header): probes that need their own client ask it for
one (``new_client``) or hand it theirs (``apply``), never copy a cookie by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.auth.token import TokenAuth
from harness.profile import User
from harness.target import Target
from harness.verdicts import NotApplicable

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Flows whose credential is a header, not a cookie: no CSRF, no cookie flags, no server logout.
HEADER_FLOWS = frozenset({"bearer", "static-header", "json-token"})


def no_cookie_reason(flow: str) -> str | None:
    """Why a control that needs a session cookie does not apply to ``flow``; None if it does."""
    if flow in HEADER_FLOWS:
        return f"auth.flow {flow!r} authenticates with a header, not a session cookie"
    if flow == "none":
        return "auth.flow is 'none': the target hands out no session cookie"
    return None


class AuthError(Exception):
    """A login flow did not end in an authenticated session; the message says which step."""

    def __init__(self, message: str, responses: list[httpx.Response] | None = None) -> None:
        super().__init__(message)
        self.responses = list(responses or [])


@dataclass
class Session:
    """One user's session against the target.

    ``client`` carries the credential (cookie jar, or the token header / token auth; the base
    URL is https, so Secure cookies are sent); ``steps`` holds every response of the login, in
    order, so tests can attach them as evidence or read raw ``Set-Cookie`` headers.
    """

    target: Target
    client: httpx.Client
    flow: str
    user: User | None = None
    csrf_token: str | None = None
    steps: list[httpx.Response] = field(default_factory=list)
    login_json: dict[str, Any] | None = None
    local_address: str | None = None
    # The credential headers of token flows (``Authorization: Bearer ...``, ``X-API-Key``).
    credential_headers: dict[str, str] = field(default_factory=dict)
    # Token flows that expire: an httpx.Auth that adds the current token (re-login/refresh).
    token_auth: TokenAuth | None = None
    # Transport errors of the login that were retried (a reset is an observation, not a verdict).
    incidents: list[str] = field(default_factory=list)

    # -- identity --------------------------------------------------------------------------
    @property
    def user_name(self) -> str | None:
        return self.user.name if self.user else None

    @property
    def cookie_name(self) -> str:
        auth = self.target.profile.auth
        if self.flow == "anonymous-cookie" and auth.login.anonymous_cookie:
            return auth.login.anonymous_cookie
        return auth.require_session_cookie()

    @property
    def cookie_value(self) -> str | None:
        """The session cookie's current value in the jar (None for header flows and none)."""
        return cookie_from_jar(self.client, self.cookie_name)

    @property
    def uses_cookie(self) -> bool:
        return self.flow not in HEADER_FLOWS and self.flow != "none"

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

    def require_cookie(self) -> str:
        """The session cookie, or NotApplicable when this flow's credential is not a cookie."""
        if not self.uses_cookie:
            raise NotApplicable(
                f"auth.flow {self.flow!r} authenticates with a header, not a session cookie"
            )
        value = self.cookie_value
        if not value:
            raise AuthError(f"{self.flow} login left no {self.cookie_name!r} cookie", self.steps)
        return value

    # -- clients ---------------------------------------------------------------------------
    @property
    def headers(self) -> dict[str, str]:
        """The credential headers every request of this session carries (token flows)."""
        if self.token_auth is not None:
            return {**self.credential_headers, **self.token_auth.headers()}
        return dict(self.credential_headers)

    def apply(self, client: httpx.Client) -> httpx.Client:
        """Make ``client`` carry this session's credential: the shared jar and the headers."""
        # The jar itself, not a copy: a cookie the target rotates reaches every client.
        client.cookies = self.client.cookies.jar
        client.headers.update(self.credential_headers)
        if self.token_auth is not None:
            client.auth = self.token_auth
        return client

    def new_client(self, **kwargs: Any) -> httpx.Client:
        """A fresh scoped client of the target that carries this session's credential."""
        kwargs.setdefault("local_address", self.local_address)
        return self.apply(self.target.client(**kwargs))

    def headers_for_write(self) -> dict[str, str]:
        """Headers a state-changing request of this session needs (the CSRF header)."""
        header = self.target.profile.auth.csrf_header
        if header and self.csrf_token and self.uses_cookie:
            return {header: self.csrf_token}
        return {}

    # -- requests --------------------------------------------------------------------------
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
