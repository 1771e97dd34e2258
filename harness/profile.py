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
    password: str = ""
    role: str = "user"
    token: str | None = Field(default=None, description="bearer token for flow = 'bearer'")


class OAuthSettings(_Strict):
    start_path: str = "/auth/spotify/login"
    callback_path: str = "/auth/spotify/callback"
    provider_service: str = "spotify_mock"
    consent_user_field: str = "user"
    tokens_path: str = "/_mock/tokens"
    requests_path: str = "/_mock/requests"


class AuthSettings(_Strict):
    flow: Literal["oauth-pkce", "form", "bearer", "none"] = "form"
    login_path: str = "/login"
    api_login_path: str | None = "/api/v1/auth/login"
    logout_path: str = "/api/v1/auth/logout"
    me_path: str = "/api/v1/me"
    username_field: str = "username"
    password_field: str = "password"
    csrf_field: str = "csrf_token"
    csrf_header: str | None = "X-CSRF-Token"
    session_cookie: str = "bridge_session"
    next_param: str = "next"
    users: list[User] = Field(default_factory=list)
    lockout_user: str | None = None
    public_operations: list[str] = Field(
        default_factory=list, description="'METHOD /path' operations that may succeed anonymously"
    )
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)

    def user(self, name: str) -> User:
        for user in self.users:
            if user.name == name:
                return user
        raise ProfileError(f"auth.users has no user named {name!r}")


class SessionSettings(_Strict):
    idle_timeout_s: float | None = None
    absolute_timeout_s: float | None = None


class LimitSettings(_Strict):
    auth_requests: int | None = Field(default=None, description="requests allowed per window")
    auth_window_s: float | None = None
    api_requests: int | None = None
    api_window_s: float | None = None
    rate_limited_paths: list[str] = Field(default_factory=list)


class TargetSettings(_Strict):
    base_url: str | None = Field(default=None, description="external targets only")
    app_service: str = "app"
    openapi_path: str = "/openapi.json"
    live_path: str = "/health/live"
    ready_path: str = "/health/ready"
    metrics_path: str | None = "/metrics"
    request_id_header: str = "X-Request-ID"
    pages: list[str] = Field(default_factory=lambda: ["/"])
    static_paths: list[str] = Field(default_factory=list)
    cors_allowed_origins: list[str] = Field(default_factory=list)
    verify_tls: bool | str = Field(default=True, description="False, True or a CA bundle path")
    request_timeout_s: float = 10.0


class LogSettings(_Strict):
    source: Literal["stack", "file", "command", "none"] = "stack"
    service: str = "app"
    path: str | None = None
    command: list[str] | None = None


class DataStoreSettings(_Strict):
    database_url: str | None = Field(default=None, description="for at-rest checks on externals")
    redis_url: str | None = None
    database_service: str | None = "postgres"
    redis_service: str | None = "redis"


class ScopeSettings(_Strict):
    allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1", "localhost"])


class SloSettings(_Strict):
    p95_ms: float = 500.0
    error_rate: float = 0.01


class DastSettings(_Strict):
    zap_api_url: str | None = None
    zap_api_key: str | None = None
    zap_rules: str | None = None
    budget_s: float = 90.0


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
    metrics_probe_requests: int = 7
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
    outbound_requests_path: str = "/_mock/requests"
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
    name: str = DEFAULT_PROFILE
    description: str = ""
    provider: Literal["local", "containers", "external"] = "local"
    stack: str = "bundled"
    release: str = "2"
    faults: list[str] = Field(default_factory=list)
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

    @model_validator(mode="after")
    def _external_needs_url(self) -> Profile:
        if self.provider == "external" and not self.target.base_url:
            raise ValueError("target.base_url is required when provider = 'external'")
        return self

    @property
    def manages_stack(self) -> bool:
        return self.provider != "external"


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
