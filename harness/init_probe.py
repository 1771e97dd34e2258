"""Discovery behind ``harness init``: probe a running target, guess its profile keys.

Every request is a GET (or HEAD-like GET) through the scope guard, anonymous, bounded in
number and time, so probing a live target is as safe as browsing it. Each guess carries the
evidence it rests on; the writer (``init_profile``) turns that into a comment per key.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, Field

from harness.auth.forms import HtmlForm, parse_page

OPENAPI_PATHS = (
    "/openapi.json",
    "/swagger.json",
    "/v3/api-docs",
    "/openapi.yaml",
    "/docs/openapi.json",
    "/api/openapi.json",
    "/swagger/v1/swagger.json",
    "/api-docs",
)
LIVE_PATHS = ("/health/live", "/livez", "/healthz", "/health", "/-/health")
READY_PATHS = ("/health/ready", "/readyz", "/ready", "/health", "/healthz", "/-/health")
LOGIN_PAGES = ("/", "/login", "/signin", "/accounts/login/", "/users/sign_in", "/-/login")
CORRELATION_HEADERS = ("X-Request-ID", "X-Correlation-ID", "Request-Id", "X-Trace-Id")
SESSION_WORDS = ("session", "sess", "sid", "auth")
LOG_SAMPLE = 200


class Guess(BaseModel):
    """One profile key the probe could set, and why."""

    key: str = Field(description="dotted key, e.g. target.openapi_path")
    value: Any
    why: str


class Discovery(BaseModel):
    base_url: str
    guesses: list[Guess] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what was looked for and not found")
    requests: int = 0

    def add(self, key: str, value: Any, why: str) -> None:
        self.guesses.append(Guess(key=key, value=value, why=why))

    def value(self, key: str) -> Any:
        return next((g.value for g in self.guesses if g.key == key), None)


class _Prober:
    def __init__(self, client: httpx.Client, found: Discovery) -> None:
        self.client = client
        self.found = found

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response | None:
        self.found.requests += 1
        try:
            return self.client.get(path, headers=headers)
        except httpx.HTTPError:
            return None


def _is_openapi(response: httpx.Response) -> str | None:
    """The document's version string, when the body is an OpenAPI or Swagger document."""
    if response.status_code != 200:
        return None
    text = response.text.lstrip()
    try:
        document = json.loads(text)
    except ValueError:
        for line in text.splitlines()[:20]:
            head, _, version = line.partition(":")
            if head.strip() in ("openapi", "swagger") and version.strip():
                return f"{head.strip()} {version.strip().strip(chr(34) + chr(39))}"
        return None
    if isinstance(document, dict):
        for kind in ("openapi", "swagger"):
            if isinstance(document.get(kind), str):
                return f"{kind} {document[kind]}"
    return None


def _openapi(p: _Prober) -> dict[str, Any] | None:
    for path in OPENAPI_PATHS:
        response = p.get(path)
        version = _is_openapi(response) if response is not None else None
        if response is not None and version:
            p.found.add("target.openapi_path", path, f"GET {path} served an {version} document")
            try:
                document = json.loads(response.text)
            except ValueError:
                return None
            return document if isinstance(document, dict) else None
    p.found.notes.append(
        "no OpenAPI document at " + ", ".join(OPENAPI_PATHS) + " (the API checks will be "
        "not_applicable until target.openapi_path names one)"
    )
    return None


def _api_routes(found: Discovery, document: dict[str, Any]) -> None:
    """Login and logout operations named in the OpenAPI document."""
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return
    for path, item in paths.items():
        methods = set(item) if isinstance(item, dict) else set()
        lowered = path.lower()
        if "post" in methods and "login" in lowered and found.value("auth.api_login_path") is None:
            found.add("auth.api_login_path", path, f"the OpenAPI document has POST {path}")
        if "post" in methods and "logout" in lowered and found.value("auth.logout_path") is None:
            found.add("auth.logout_path", path, f"the OpenAPI document has POST {path}")


def _health(p: _Prober) -> None:
    answered: dict[str, int] = {}
    for path in dict.fromkeys((*LIVE_PATHS, *READY_PATHS)):
        response = p.get(path)
        if response is not None:
            answered[path] = response.status_code
    for key, candidates in (("target.live_path", LIVE_PATHS), ("target.ready_path", READY_PATHS)):
        hit = next((path for path in candidates if answered.get(path) == 200), None)
        if hit is not None:
            p.found.add(key, hit, f"GET {hit} answered 200")
        else:
            p.found.notes.append(
                f"no {key.split('.')[1]} endpoint answered 200 (tried {', '.join(candidates)}); "
                f"set {key} or expect the health checks to fail"
            )


def _metrics(p: _Prober) -> None:
    response = p.get("/metrics")
    if response is not None and response.status_code == 200 and "# TYPE" in response.text:
        p.found.add("target.metrics_path", "/metrics", "GET /metrics served Prometheus text")
    else:
        # Not written as absent: that would turn a missing control into not_applicable, a
        # decision for the user, not for a probe.
        status = "no answer" if response is None else f"HTTP {response.status_code}"
        p.found.notes.append(
            f"GET /metrics: {status}, not Prometheus text; OBS-01 fails unless target."
            "metrics_path names where the metrics are (or metrics_path = false declares "
            "that there are none, and OBS-01 is then not_applicable)"
        )


def _login_form(form: HtmlForm) -> tuple[str | None, str, str | None]:
    """(username field, password field, CSRF hidden field) of a login form."""
    password = next(f.name for f in form.fields if f.type == "password")
    user = next(
        (f.name for f in form.fields if f.type in ("text", "email", "") and f.name != password),
        None,
    )
    csrf = next(
        (f.name for f in form.fields if f.type == "hidden" and "csrf" in f.name.lower()), None
    )
    return user, password, csrf


def _redirect_path(response: httpx.Response) -> str | None:
    """The same-origin path a redirect points to (an app that sends visitors to its login)."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return None
    here = urlsplit(str(response.request.url))
    target = urlsplit(urljoin(str(response.request.url), response.headers.get("location", "")))
    if (target.scheme, target.netloc) != (here.scheme, here.netloc):
        return None
    return target.path or "/"


def _login(p: _Prober, cookies: dict[str, str]) -> None:
    pages = list(LOGIN_PAGES)
    for path in pages:
        response = p.get(path)
        if response is None:
            continue
        _collect_cookies(response, path, cookies)
        redirect = _redirect_path(response)
        if redirect is not None and redirect not in pages and len(pages) < 2 * len(LOGIN_PAGES):
            pages.insert(pages.index(path) + 1, redirect)  # follow it next, once
            continue
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            continue
        form = next((f for f in parse_page(response.text).forms if f.has_password()), None)
        if form is None:
            continue
        user, password, csrf = _login_form(form)
        action = urlsplit(urljoin(str(response.request.url), form.action or path)).path
        where = f"the form on {path} (action {action}, method {form.method})"
        p.found.add("auth.flow", "form", f"{where} has a password field")
        p.found.add("auth.login_path", path, f"{where} is the login form")
        if user:
            p.found.add("auth.username_field", user, f"the text field of {where}")
        p.found.add("auth.password_field", password, f"the password field of {where}")
        if csrf:
            p.found.add("auth.csrf_field", csrf, f"the hidden CSRF field of {where}")
        return
    p.found.add("auth.flow", "none", "no page with a password form at " + ", ".join(pages))


def _collect_cookies(response: httpx.Response, path: str, cookies: dict[str, str]) -> None:
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0].strip()
        if name:
            cookies.setdefault(name, path)


def _session_cookie(found: Discovery, cookies: dict[str, str]) -> None:
    named = [n for n in cookies if any(word in n.lower() for word in SESSION_WORDS)]
    pick = named[0] if named else (next(iter(cookies)) if len(cookies) == 1 else None)
    if pick is not None:
        others = sorted(set(cookies) - {pick})
        extra = f"; also set: {', '.join(others)}" if others else ""
        found.add("auth.session_cookie", pick, f"set anonymously by GET {cookies[pick]}{extra}")
    else:
        seen = ", ".join(sorted(cookies)) or "none"
        found.notes.append(
            f"no session-like cookie was set anonymously (seen: {seen}); if a login sets one, "
            "name it in auth.session_cookie"
        )


def _correlation(p: _Prober) -> None:
    path = p.found.value("target.live_path") or "/"
    for header in CORRELATION_HEADERS:
        sent = f"harness-init-{secrets.token_hex(6)}"
        response = p.get(path, headers={header: sent})
        if response is not None and response.headers.get(header) == sent:
            p.found.add("target.request_id_header", header, f"GET {path} echoed {header}")
            return
    p.found.notes.append(
        f"GET {path} echoed none of {', '.join(CORRELATION_HEADERS)}: the correlation checks "
        "will fail unless the target has another header (target.request_id_header)"
    )


def _logs(found: Discovery, log_file: Path | None) -> None:
    if log_file is None:
        found.add("logs.source", "none", "no --log-file given: the log checks are not_applicable")
        return
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_SAMPLE:]
    lines = [line for line in lines if line.strip()]
    found.add("logs.source", "file", f"--log-file {log_file}")
    found.add("logs.path", str(log_file.resolve()), "--log-file")
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    if lines and len(records) * 2 > len(lines):
        fields = sorted({key for record in records for key in record})
        found.notes.append(
            f"{log_file}: {len(records)} of the last {len(lines)} lines are JSON objects "
            f"(fields: {', '.join(fields[:20])})"
        )
    else:
        found.notes.append(
            f"{log_file}: {len(records)} of the last {len(lines)} lines are JSON; plain text "
            "logs fail the structured-log control (OBS-03) until the app logs JSON"
        )


def probe(client: httpx.Client, base_url: str, log_file: Path | None = None) -> Discovery:
    """Probe the target ``client`` is bound to (a scoped client, base_url set)."""
    found = Discovery(base_url=base_url)
    p = _Prober(client, found)
    cookies: dict[str, str] = {}
    first = p.get("/")
    if first is None:
        raise ConnectionError(f"{base_url}: no answer to GET /")
    document = _openapi(p)
    if document is not None:
        _api_routes(found, document)
    _health(p)
    _metrics(p)
    _login(p, cookies)
    _collect_cookies(first, "/", cookies)
    _session_cookie(found, cookies)
    _correlation(p)
    _logs(found, log_file)
    return found
