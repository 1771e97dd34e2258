"""The tables of a profile: target, auth, logs, datastores, scope and the rest.

Keys with no honest default for a third-party target default to absent (``false`` in TOML;
see ``base.py``); the reference app's values live in its own profile in ``harness.toml``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.logs import compile_pattern
from harness.profile.base import ProfileError, Strict
from harness.verdicts import NotApplicable


def _required(value: str | None, key: str, what: str) -> str:
    if not value:
        raise NotApplicable(f"the profile names no {what}; set {key} in the profile")
    return value


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
        return _required(
            self.me_path, "auth.me_path", "an endpoint that answers 200 only logged in"
        )

    def require_logout_path(self) -> str:
        return _required(self.logout_path, "auth.logout_path", "a logout endpoint")

    def require_session_cookie(self) -> str:
        return _required(self.session_cookie, "auth.session_cookie", "a session cookie name")

    def require_oauth(self) -> OAuthSettings:
        if self.oauth is None:
            raise NotApplicable("the profile describes no OAuth login; set [auth.oauth] in it")
        return self.oauth


class SessionSettings(Strict):
    """The session lifetimes the target promises."""

    idle_timeout_s: float | None = Field(
        default=None, description="the target's idle timeout (AUTH-04 waits past it)"
    )
    absolute_timeout_s: float | None = Field(
        default=None, description="the target's absolute lifetime (AUTH-05)"
    )


class LimitSettings(Strict):
    """The rate limits the target promises."""

    auth_requests: int | None = Field(default=None, description="requests allowed per window")
    auth_window_s: float | None = Field(default=None, description="auth rate-limit window")
    api_requests: int | None = Field(default=None, description="API requests allowed per window")
    api_window_s: float | None = Field(default=None, description="API rate-limit window")
    rate_limited_paths: list[str] = Field(
        default_factory=list, description="extra paths the rate-limit check bursts"
    )


class TargetSettings(Strict):
    """Where the target answers and what it serves."""

    base_url: str | None = Field(default=None, description="external targets only")
    app_service: str = Field(default="app", description="the stack service users reach")
    openapi_path: str | None = Field(
        default="/openapi.json",
        description="the OpenAPI document (a common location; `harness init` finds the real "
        "one). false: the target has none; its operations then come from crawling pages, and "
        "checks that need a document are not_applicable",
    )
    live_path: str = Field(
        default="/health/live", description="liveness endpoint (the MicroProfile Health path)"
    )
    ready_path: str = Field(
        default="/health/ready", description="readiness endpoint (the MicroProfile Health path)"
    )
    metrics_path: str | None = Field(
        default="/metrics", description="Prometheus metrics (false: the target exposes none)"
    )
    request_id_header: str = Field(default="X-Request-ID", description="the correlation id header")
    pages: list[str] = Field(
        default_factory=lambda: ["/"], description="HTML pages the crawl starts from"
    )
    static_paths: list[str] = Field(
        default_factory=list, description="static files checked like any other response"
    )
    cors_allowed_origins: list[str] = Field(
        default_factory=list, description="origins the target's CORS policy allows"
    )
    verify_tls: bool | str = Field(default=True, description="False, True or a CA bundle path")
    request_timeout_s: float = Field(default=10.0, description="total time for one request")


class LogSettings(Strict):
    """Where the app's log lines come from."""

    source: Literal["stack", "file", "command", "none"] = Field(
        default="stack", description="where the app's log comes from"
    )
    service: str = Field(
        default="app", description="stack service whose log is read (source = 'stack')"
    )
    path: str | None = Field(default=None, description="log file (source = 'file')")
    command: list[str] | None = Field(
        default=None, description="argv printing the log (source = 'command')"
    )
    format: Literal["json", "regex"] = Field(
        default="json",
        description="'json': one JSON object per line; 'regex': plain-text lines read with "
        "pattern (OBS-03, structured logs, still fails on them unless declared not_applicable)",
    )
    pattern: str | None = Field(
        default=None,
        description="format = 'regex': a Python regex matched at the start of each line, with "
        "named groups message (required), time, level, logger, correlation_id and extra (a "
        "JSON object whose keys join the record, e.g. an audit payload); a value '-' is absent",
    )

    @model_validator(mode="after")
    def _pattern_fits_format(self) -> LogSettings:
        if self.format == "regex":
            if not self.pattern:
                raise ValueError(
                    "format = 'regex' needs pattern, a regex with named groups such as "
                    "(?P<time>...) (?P<level>...) (?P<message>...)"
                )
            compile_pattern(self.pattern)
        elif self.pattern is not None:
            raise ValueError("pattern is only read with format = 'regex'")
        return self


class DataStoreSettings(Strict):
    """Database and Redis access for at-rest checks."""

    database_url: str | None = Field(default=None, description="for at-rest checks on externals")
    redis_url: str | None = Field(default=None, description="for at-rest checks on externals")
    database_service: str | None = Field(
        default=None, description="stack service of the database (false: none in the stack)"
    )
    redis_service: str | None = Field(
        default=None, description="stack service of Redis (false: none in the stack)"
    )


class ScopeSettings(Strict):
    """The scope allow-list: anything else is refused before a packet is sent."""

    allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1", "localhost"],
        description="networks, addresses and host names the harness may contact",
    )
    allow_writes: list[str] = Field(
        default_factory=list,
        description="with safety = 'safe': the only state-changing operations that may be sent "
        "('METHOD /path', path templates such as /items/{id} allowed, or a URL pattern)",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="operations ('METHOD /path') or URL patterns that no probe and no engine "
        "ever calls, in any safety mode (destructive routes such as database resets)",
    )


class SloSettings(Strict):
    """Service level objectives for load checks."""

    p95_ms: float = Field(default=500.0, description="95th percentile latency objective")
    error_rate: float = Field(default=0.01, description="error rate objective (fraction)")


class DastSettings(Strict):
    """The DAST engine (SEC-14): ZAP when an API address is given, wapiti otherwise."""

    zap_api_url: str | None = Field(
        default=None, description="a ZAP daemon's API base URL (or env ZAP_API_URL)"
    )
    zap_api_key: str | None = Field(default=None, description="the ZAP API key, if it has one")
    zap_rules: str | None = Field(
        default=None, description="IGNORE/WARN/FAIL per ZAP rule id (default: the bundled file)"
    )
    budget_s: float = Field(default=90.0, description="the scan's total time budget")
    baseline: str | None = Field(
        default=None, description="file of accepted finding ids, one per line (only new ones fail)"
    )


class OperationsSettings(Strict):
    """Commands the operational controls run in the app service (through ``stack.exec``)."""

    rotate_keys: list[str] | None = Field(
        default=None, description="argv that rotates the encryption key (SEC-15)"
    )


class ObservabilitySettings(Strict):
    """What the observability and performance suites need beyond the target's own documents."""

    log_fields: dict[str, list[str]] = Field(
        default_factory=dict,
        description="required log field -> accepted names (default: time, level, logger, message "
        "with common aliases)",
    )
    metrics_probe_path: str | None = Field(
        default=None, description="GET path sent N times to move the metrics (default live_path)"
    )
    metrics_probe_requests: int = Field(default=7, description="requests sent to move the metrics")
    ready_recovery_s: float = Field(
        default=30.0, description="readiness must be 200 again this long after a restart"
    )
    ready_check_names: dict[str, list[str]] = Field(
        default_factory=dict, description="stack service -> its name(s) in the readiness body"
    )
    outbound_services: list[str] = Field(
        default_factory=list,
        description="stack services that record the requests the app sends them ([]: none; "
        "outbound correlation is not_applicable)",
    )
    outbound_requests_path: str | None = Field(
        default=None,
        description="inspection route of the recording services (required with outbound_services)",
    )
    slow_query_ms: float | None = Field(
        default=None, description="the target's slow-query log threshold (OBS-07)"
    )
    slow_query_pattern: str = Field(
        default=r"slow[ _-]?(query|quer(ies)|sql|statement)",
        description="regex (case-insensitive) matched against a slow-query record's message/event",
    )
    gzip_min_bytes: int = Field(
        default=1024, description="bodies at least this large must be compressed (PERF-01)"
    )

    @model_validator(mode="after")
    def _recorders_need_their_route(self) -> ObservabilitySettings:
        if self.outbound_services and not self.outbound_requests_path:
            raise ValueError(
                "outbound_services needs outbound_requests_path (their inspection route)"
            )
        return self
