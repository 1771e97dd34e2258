"""The auth table of a profile: users, the login flow (form, JSON token, OAuth, static) and
what a successful login looks like. Split from ``sections.py``, which re-exports it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.profile.base import ProfileError, Strict
from harness.profile.base import required as _required
from harness.verdicts import NotApplicable


class User(Strict):
    name: str
    password: str = Field(default="", description="password for form/api logins")
    role: str = Field(default="user", description="'admin' or 'user'")
    token: str | None = Field(default=None, description="bearer token for flow = 'bearer'")


class OAuthSettings(Strict):
    """The provider side of an oauth-pkce login (required when auth.flow = 'oauth-pkce')."""

    start_path: str = Field(description="the app route that starts the provider login")
    callback_path: str = Field(description="the app's redirect URI path")
    provider_service: str | None = Field(
        default=None,
        description="stack service of the (mock) provider whose inspection routes the checks "
        "read (false: none; the checks that need them are not_applicable)",
    )
    consent_user_field: str = Field(
        default="user", description="form field on the consent page that names the user"
    )
    tokens_path: str | None = Field(
        default=None, description="provider route listing issued tokens (false: none)"
    )
    requests_path: str | None = Field(
        default=None, description="provider route listing the requests it got (false: none)"
    )

    def require_provider_service(self) -> str:
        return _required(
            self.provider_service, "auth.oauth.provider_service", "OAuth provider service"
        )

    def require_tokens_path(self) -> str:
        return _required(self.tokens_path, "auth.oauth.tokens_path", "provider route of tokens")

    def require_requests_path(self) -> str:
        return _required(
            self.requests_path, "auth.oauth.requests_path", "provider route of requests"
        )


class LoginCondition(Strict):
    """One thing a successful login answer shows; set exactly one key."""

    redirect: bool | None = Field(
        default=None, description="true: the answer redirects somewhere other than the login page"
    )
    cookie: str | None = Field(default=None, description="the answer sets this cookie")
    status: int | None = Field(default=None, description="the answer has this HTTP status")
    identity: bool | None = Field(
        default=None, description="true: auth.me_path answers 200 after the login"
    )
    text: str | None = Field(default=None, description="the answer's body contains this text")

    @model_validator(mode="after")
    def _one_key(self) -> LoginCondition:
        if len(self.model_fields_set) != 1:
            raise ValueError(
                "a login condition sets exactly one of redirect, cookie, status, identity, text"
            )
        return self


class LoginSettings(Strict):
    """What a successful login looks like, and where token flows find and send the token."""

    success: list[LoginCondition] = Field(
        default_factory=list,
        description="form login: conditions that must all hold, e.g. [{status = 200}, "
        "{cookie = 'sid'}]; empty: a redirect away from the login page (docs/auth.md)",
    )
    token_path: str = Field(
        default="access_token",
        description="json-token: where the token is in the login answer (dotted path or /pointer)",
    )
    token_header: str = Field(
        default="Authorization", description="token flows: the header that carries the token"
    )
    token_scheme: str = Field(
        default="Bearer", description="token flows: prefix before the token ('' for a bare key)"
    )
    token_env: str | None = Field(
        default=None,
        description="bearer/static-header: environment variable holding the token of a user "
        "without auth.users[].token",
    )
    expires_in_path: str | None = Field(
        default="expires_in",
        description="json-token: seconds-to-expiry in the login answer (absent: no expiry)",
    )
    refresh_path: str | None = Field(
        default=None,
        description="json-token: POST the refresh token here when the token expires "
        "(unset: log in again)",
    )
    refresh_token_path: str = Field(
        default="refresh_token", description="json-token: where the refresh token is"
    )
    refresh_field: str = Field(
        default="refresh_token", description="json-token: JSON field of the refresh request"
    )
    anonymous_path: str = Field(
        default="/",
        description="anonymous-cookie: the page that hands out a session cookie without a login",
    )
    anonymous_cookie: str | None = Field(
        default=None,
        description="anonymous-cookie: that cookie's name (unset: auth.session_cookie)",
    )


class AuthSettings(Strict):
    """How the harness logs in, and the users it logs in as."""

    flow: Literal[
        "oauth-pkce", "form", "json-token", "bearer", "static-header", "anonymous-cookie", "none"
    ] = Field(default="form", description="how the harness logs in")
    login_path: str = Field(default="/login", description="the HTML login form")
    api_login_path: str | None = Field(
        default=None, description="JSON login endpoint (false: the target has none)"
    )
    logout_path: str | None = Field(
        default=None, description="POST here logs out (false: none; logout checks not_applicable)"
    )
    me_path: str | None = Field(
        default=None,
        description="a GET that answers 200 only when authenticated (false: none; the session "
        "checks that need it are not_applicable)",
    )
    username_field: str = Field(default="username", description="login form field")
    password_field: str = Field(default="password", description="login form field")
    csrf_field: str = Field(default="csrf_token", description="hidden CSRF field in forms")
    csrf_header: str | None = Field(
        default=None, description="header carrying the CSRF token on API writes (false: none)"
    )
    session_cookie: str | None = Field(
        default=None,
        description="name of the session cookie (false: none, e.g. bearer-only APIs; the cookie "
        "checks are not_applicable)",
    )
    next_param: str = Field(default="next", description="post-login redirect parameter (SEC-13)")
    users: list[User] = Field(
        default_factory=list, description="{name, password, role}; two of one role for AUTH-10"
    )
    lockout_user: str | None = Field(
        default=None, description="a user the brute-force check may lock out (AUTH-09)"
    )
    public_operations: list[str] = Field(
        default_factory=list, description="'METHOD /path' operations that may succeed anonymously"
    )
    oauth: OAuthSettings | None = Field(
        default=None, description="(table) the provider side; required when flow = 'oauth-pkce'"
    )
    login: LoginSettings = Field(default_factory=lambda: LoginSettings())

    @model_validator(mode="after")
    def _oauth_needs_its_table(self) -> AuthSettings:
        if self.flow == "oauth-pkce" and self.oauth is None:
            raise ValueError(
                "flow = 'oauth-pkce' needs an [auth.oauth] table (start_path, callback_path)"
            )
        return self

    def user(self, name: str) -> User:
        for user in self.users:
            if user.name == name:
                return user
        raise ProfileError(f"auth.users has no user named {name!r}")

    # A check that needs a key the target has no value for does not apply: these accessors
    # say so in one line that names the key, instead of probing a guessed path.
    def require_me_path(self) -> str:
        return _required(self.me_path, "auth.me_path", "endpoint that answers 200 only logged in")

    def require_logout_path(self) -> str:
        return _required(self.logout_path, "auth.logout_path", "logout endpoint")

    def require_session_cookie(self) -> str:
        return _required(self.session_cookie, "auth.session_cookie", "session cookie name")

    def require_oauth(self) -> OAuthSettings:
        if self.oauth is None:
            raise NotApplicable("the profile describes no OAuth login; set [auth.oauth] in it")
        return self.oauth
