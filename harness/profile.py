"""Profiles: the typed description of a target, loaded from ``harness.toml``.

A profile says where the target is (or how to bring it up), how to log in, where its logs,
database and cache are, what is in scope and which controls do not apply. Suites read only
the profile and the target's own documents, never the reference app's code.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PROFILE = "reference"
CONFIG_NAME = "harness.toml"


class ProfileError(Exception):
    """A profile could not be loaded; the message is one line that says what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class User(_Strict):
    name: str
    password: str = Field(default="", description="password for form/api logins")
    role: str = Field(default="user", description="'admin' or 'user'")
    token: str | None = Field(default=None, description="bearer token for flow = 'bearer'")


class OAuthSettings(_Strict):
    """The provider side of an oauth-pkce login."""

    start_path: str = Field(
        default="/auth/spotify/login", description="the app route that starts the provider login"
    )
    callback_path: str = Field(
        default="/auth/spotify/callback", description="the app's redirect URI path"
    )
    provider_service: str = Field(
        default="spotify_mock", description="stack service of the (mock) provider"
    )
    consent_user_field: str = Field(
        default="user", description="form field on the consent page that names the user"
    )
    tokens_path: str = Field(
        default="/_mock/tokens", description="mock route listing issued tokens"
    )
    requests_path: str = Field(default="/_mock/requests", description="mock route listing requests")


class AuthSettings(_Strict):
    """How the harness logs in, and the users it logs in as."""

    flow: Literal[
        "oauth-pkce", "form", "json-token", "bearer", "static-header", "anonymous-cookie", "none"
    ] = Field(default="form", description="how the harness logs in")
    login_path: str = Field(default="/login", description="the HTML login form")
    api_login_path: str | None = Field(
        default="/api/v1/auth/login", description="JSON login, if any"
    )
    logout_path: str = Field(default="/api/v1/auth/logout", description="POST here logs out")
    me_path: str = Field(default="/api/v1/me", description="answers 200 only when authenticated")
    username_field: str = Field(default="username", description="login form field")
    password_field: str = Field(default="password", description="login form field")
    csrf_field: str = Field(default="csrf_token", description="hidden CSRF field in forms")
    csrf_header: str | None = Field(
        default="X-CSRF-Token", description="header carrying the CSRF token on API writes"
    )
    session_cookie: str = Field(default="bridge_session", description="name of the session cookie")
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
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    login: LoginSettings = Field(default_factory=lambda: LoginSettings())

    def user(self, name: str) -> User:
        for user in self.users:
            if user.name == name:
                return user
        raise ProfileError(f"auth.users has no user named {name!r}")


class LoginCondition(_Strict):
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


class LoginSettings(_Strict):
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


class SessionSettings(_Strict):
    """The session lifetimes the target promises."""

    idle_timeout_s: float | None = Field(
        default=None, description="the target's idle timeout (AUTH-04 waits past it)"
    )
    absolute_timeout_s: float | None = Field(
        default=None, description="the target's absolute lifetime (AUTH-05)"
    )


class LimitSettings(_Strict):
    """The rate limits the target promises."""

    auth_requests: int | None = Field(default=None, description="requests allowed per window")
    auth_window_s: float | None = Field(default=None, description="auth rate-limit window")
    api_requests: int | None = Field(default=None, description="API requests allowed per window")
    api_window_s: float | None = Field(default=None, description="API rate-limit window")
    rate_limited_paths: list[str] = Field(
        default_factory=list, description="extra paths the rate-limit check bursts"
    )


class TargetSettings(_Strict):
    """Where the target answers and what it serves."""

    base_url: str | None = Field(default=None, description="external targets only")
    app_service: str = Field(default="app", description="the stack service users reach")
    openapi_path: str = Field(default="/openapi.json", description="the OpenAPI document")
    live_path: str = Field(default="/health/live", description="liveness endpoint")
    ready_path: str = Field(default="/health/ready", description="readiness endpoint")
    metrics_path: str | None = Field(default="/metrics", description="Prometheus metrics")
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


class LogSettings(_Strict):
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


class DataStoreSettings(_Strict):
    """Database and Redis access for at-rest checks."""

    database_url: str | None = Field(default=None, description="for at-rest checks on externals")
    redis_url: str | None = Field(default=None, description="for at-rest checks on externals")
    database_service: str | None = Field(
        default="postgres", description="stack service of the database (None: no access)"
    )
    redis_service: str | None = Field(
        default="redis", description="stack service of Redis (None: no access)"
    )


class ScopeSettings(_Strict):
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


class SloSettings(_Strict):
    """Service level objectives for load checks."""

    p95_ms: float = Field(default=500.0, description="95th percentile latency objective")
    error_rate: float = Field(default=0.01, description="error rate objective (fraction)")


class DastSettings(_Strict):
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


class EfficacySettings(_Strict):
    """Where the target's seeded-fault registry comes from (``harness efficacy``)."""

    registry: list[str] | None = Field(
        default=None,
        description="argv run in the app service that prints the fault registry as JSON "
        "([] or absent: the target has no seeded faults)",
    )


class OperationsSettings(_Strict):
    """Commands the operational controls run in the app service (through ``stack.exec``)."""

    rotate_keys: list[str] | None = Field(
        default=None, description="argv that rotates the encryption key (SEC-15)"
    )


class ObservabilitySettings(_Strict):
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
        default_factory=lambda: ["spotify_mock", "slskd_mock"],
        description="stack services that record the requests the app sends them",
    )
    outbound_requests_path: str = Field(
        default="/_mock/requests", description="inspection route of the recording mocks"
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


class Profile(_Strict):
    name: str = Field(default=DEFAULT_PROFILE, description="set from the table name")
    description: str = Field(default="", description="one line shown by `harness status`")
    provider: Literal["local", "containers", "external"] = Field(
        default="local", description="who runs the stack: local processes, containers, nobody"
    )
    stack: str = Field(
        default="bundled", description="stack definition: harness/stacks/NAME.toml or a path"
    )
    release: str = Field(default="2", description="the app release the stack starts")
    safety: Literal["safe", "intrusive"] | None = Field(
        default=None,
        description="'safe': no state-changing request outside scope.allow_writes, no brute "
        "force, no bursts, no stored payloads, passive DAST; 'intrusive': everything "
        "(default: safe for provider = 'external', intrusive for stacks the harness starts)",
    )
    faults: list[str] = Field(
        default_factory=list, description="seeded faults to switch on (reference target only)"
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment for the app")
    target: TargetSettings = Field(default_factory=TargetSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    datastores: DataStoreSettings = Field(default_factory=DataStoreSettings)
    scope: ScopeSettings = Field(default_factory=ScopeSettings)
    slo: SloSettings = Field(default_factory=SloSettings)
    dast: DastSettings = Field(default_factory=DastSettings)
    not_applicable: dict[str, str] = Field(
        default_factory=dict, description="control id -> why it does not apply to this target"
    )
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    operations: OperationsSettings = Field(default_factory=OperationsSettings)
    efficacy: EfficacySettings = Field(default_factory=EfficacySettings)

    @model_validator(mode="after")
    def _external_needs_url(self) -> Profile:
        if self.provider == "external" and not self.target.base_url:
            raise ValueError("target.base_url is required when provider = 'external'")
        return self

    @property
    def manages_stack(self) -> bool:
        return self.provider != "external"

    @property
    def safety_mode(self) -> Literal["safe", "intrusive"]:
        """The safety mode in force: the explicit key, else safe for targets nobody here runs."""
        if self.safety is not None:
            return self.safety
        return "safe" if self.provider == "external" else "intrusive"


def find_config(start: Path | None = None) -> Path:
    """``HARNESS_CONFIG``, else the nearest ``harness.toml`` from ``start`` upwards."""
    explicit = os.environ.get("HARNESS_CONFIG")
    if explicit:
        return Path(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return Path(__file__).resolve().parent.parent / CONFIG_NAME


def _describe(error: ValidationError, profile: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(profile)"
    return f"profile {profile!r}: {key}: {first['msg']}"


def load_profile(name: str | None = None, config: Path | None = None) -> Profile:
    """Load one profile by name; raise ProfileError with one line naming the bad key."""
    name = name or os.environ.get("HARNESS_PROFILE") or DEFAULT_PROFILE
    path = config or find_config()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(
            f"{path}: no such file (set HARNESS_CONFIG or add {CONFIG_NAME})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    profiles = document.get("profiles", {})
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"{path}: no profile named {name!r} (known: {known})")
    raw = dict(profiles[name])
    base_name = raw.pop("extends", None)
    if base_name is not None:
        if base_name not in profiles:
            raise ProfileError(f"profile {name!r}: extends: no profile named {base_name!r}")
        raw = _merge(dict(profiles[base_name]), raw)
        raw.pop("extends", None)
    raw.setdefault("name", name)
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(_describe(exc, name)) from None


def profile_names(config: Path | None = None) -> list[str]:
    path = config or find_config()
    try:
        return sorted(tomllib.loads(path.read_text(encoding="utf-8")).get("profiles", {}))
    except (OSError, tomllib.TOMLDecodeError):
        return []


def _merge(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged
