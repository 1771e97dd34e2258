"""The tables of a profile: target, logs, datastores, scope and the rest (auth: auth_sections).

Keys with no honest default for a third-party target default to absent (``false`` in TOML;
see ``base.py``); the reference app's values live in its own profile in ``harness.toml``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.logs import compile_pattern
from harness.profile.base import Strict


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
    own_server_names: list[str] = Field(
        default_factory=list,
        description="Server header values that name the target itself, not a product one "
        "could look advisories up for (SEC-07 accepts exactly these; a version never)",
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

    p95_ms: float = Field(
        default=500.0,
        description="95th percentile latency objective, over all requests and for each route "
        "with load.min_samples requests",
    )
    error_rate: float = Field(default=0.01, description="error rate objective (fraction)")
    p99_ms: float | None = Field(
        default=None, description="99th percentile latency objective (absent: not judged)"
    )
    min_rps: float | None = Field(
        default=None,
        description="least requests per second the load run must reach (absent: not judged)",
    )
    route_p95_ms: dict[str, float] = Field(
        default_factory=dict,
        description="'METHOD /path' -> that route's own p95 objective (a login that hashes "
        "passwords on purpose); those routes are judged by it alone and left out of the "
        "overall percentiles",
    )


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
