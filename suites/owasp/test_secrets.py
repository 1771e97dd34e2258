"""SEC-09: issued tokens, the client secret and keys never appear in responses, pages,
error pages or logs.

The tokens come from the identity provider's record (flow oauth-pkce) or, for every other
login, from the login answer itself (its string values, an access token say): the login answer
is where they are meant to appear, so it alone is not searched for them."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, unquote_plus

import pytest

from harness.auth import AuthError
from harness.auth import login as do_login
from harness.loopback import source
from harness.probes import session_ids
from harness.probes.bounded import as_response, fetch
from harness.probes.crawl import crawl
from harness.probes.secrets import SecretScanner
from harness.probes.surface import probe_errors
from harness.stack.base import LifecycleUnsupported, StackError
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(86)
_SECRET_ENV = re.compile(r"SECRET|PASSWORD|API_KEY|PRIVATE|TOKEN", re.IGNORECASE)
_KEY_FILE_ENV = re.compile(r"KEY.*FILE|KEYRING", re.IGNORECASE)
# Run inside the app's environment; the two name patterns come in as argv[1] and argv[2].
_ENV_DUMP = (
    "import json, os, re, sys\n"
    "out = {k: v for k, v in os.environ.items() if re.search(sys.argv[1], k, re.I)}\n"
    "for k, v in os.environ.items():\n"
    "    if re.search(sys.argv[2], k, re.I) and os.path.isfile(v):\n"
    "        try:\n"
    "            out[k + ':file'] = open(v).read()[:20000]\n"
    "        except OSError:\n"
    "            pass\n"
    "print(json.dumps(out))\n"
)


def _leaves(value, found: list[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, found)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, found)
    elif isinstance(value, str) and len(value) >= 16:
        found.append(value)


def _app_secrets(target) -> dict[str, str]:
    """Secrets from the app's own environment (client secret, signing key, key ring)."""
    stack = target.stack
    if stack is None:
        return {}
    try:
        done = stack.exec(
            target.profile.target.app_service,
            ["python", "-c", _ENV_DUMP, _SECRET_ENV.pattern, _KEY_FILE_ENV.pattern],
        )
    except (LifecycleUnsupported, StackError, OSError):
        return {}
    if done.returncode != 0:
        return {}
    try:
        env = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}
    secrets: dict[str, str] = {}
    for name, value in env.items():
        if name.endswith(":file"):
            try:
                leaves: list[str] = []
                _leaves(json.loads(value), leaves)
            except ValueError:
                leaves = [value.strip()]
            for index, leaf in enumerate(leaves):
                secrets[f"{name[:-5]} entry {index}"] = leaf
        elif value and len(value) >= 8:
            secrets[name] = value
    return secrets


def _password_user(profile):
    lockout = profile.auth.lockout_user
    return next((u for u in profile.auth.users if u.password and u.name != lockout), None)


def _front_marks(target) -> dict[str, int]:
    """Log positions of the services in front of the app; a service whose log the provider
    cannot read is left out (and so absent from the evidence's list)."""
    marks = {}
    for name in _front_logs(target):
        try:
            marks[name] = target.stack.mark(name)
        except (LifecycleUnsupported, StackError, KeyError, OSError):
            continue
    return marks


def _front_logs(target) -> list[str]:
    """Stack services whose logs are the target's besides the app's (a reverse proxy)."""
    stack = target.stack
    if stack is None or target.profile.logs.source != "stack":
        return []
    profile = target.profile
    oauth = profile.auth.oauth
    return session_ids.front_services(
        stack.services,
        app_log_service=profile.logs.service,
        not_the_app=[
            profile.target.app_service,
            profile.datastores.database_service,
            profile.datastores.redis_service,
            *profile.observability.outbound_services,
            oauth.provider_service if oauth else None,
        ],
    )


def _issued_tokens(target) -> dict[str, str]:
    oauth = target.profile.auth.require_oauth()
    base = target.service_url(oauth.require_provider_service())
    # The identity provider's recorder, not the target: no user credential applies.
    with target.client(base=base) as client:
        response = client.get(oauth.require_tokens_path())
    response.raise_for_status()
    tokens: dict[str, str] = {}
    for index, row in enumerate(response.json()):
        for key in ("access_token", "refresh_token"):
            if row.get(key):
                tokens[f"issued {key} #{index} ({row.get('user')})"] = row[key]
    return tokens


def _login_tokens(session) -> dict[str, str]:
    """Tokens the login answer handed out (its string values of 16 characters or more)."""
    found: dict[str, str] = {}

    def walk(value, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")
        elif isinstance(value, str) and len(value) >= 16:
            found[f"issued by the login: {where}"] = value

    walk(session.login_json or {}, "")
    return found


def _is_login_answer(step, login_path: str | None) -> bool:
    return bool(login_path) and step.request.method == "POST" and step.url.path == login_path


def _client_credentials(target) -> dict[str, str]:
    """The client secret the app presented to the provider (its token requests, as recorded
    by the provider mock: HTTP Basic or a ``client_secret`` form field)."""
    oauth = target.profile.auth.require_oauth()
    if not oauth.provider_service or not oauth.requests_path:
        return {}
    base = target.service_url(oauth.provider_service)
    # The identity provider's recorder, not the target: no user credential applies.
    with target.client(base=base) as client:
        response = client.get(oauth.requests_path)
    if response.status_code != 200:
        return {}
    found: dict[str, str] = {}
    for entry in response.json():
        if entry.get("method") != "POST":
            continue
        headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                pair = base64.b64decode(basic[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                pair = ""
            if ":" in pair:
                found["client secret (from the provider's request log)"] = unquote_plus(
                    pair.split(":", 1)[1]
                )
        form = parse_qs(str(entry.get("body") or ""))
        if form.get("client_secret"):
            found["client secret (from the provider's request log)"] = form["client_secret"][0]
    return found


@pytest.mark.control("SEC-09")
def test_secrets_never_leak(target, evidence):
    profile = target.profile
    oauth = profile.auth.flow == "oauth-pkce"
    mark = target.log_mark()
    front_marks = _front_marks(target)
    responses = []
    # The other login flows the target offers (a local JSON login beside OAuth) hand out
    # sessions of their own and write log lines of their own: each is walked once.
    other_sessions = []
    for flow in session_ids.other_flows(
        profile.auth.flow,
        api_login_path=profile.auth.api_login_path,
        has_password_user=_password_user(profile) is not None,
    ):
        user = _password_user(profile)
        try:
            other = do_login(target, user.name if user else None, flow, local_address=SOURCE)
        except AuthError as exc:
            evidence.text(f"{flow} login failed (its session is not searched for)", str(exc))
            continue
        if profile.auth.me_path:
            responses.append(fetch(other.client, "GET", profile.auth.me_path, total_s=5))
        other_sessions.append(other)
        other.close()
    session = do_login(target, local_address=SOURCE)
    try:
        pages = crawl(
            session.client, target.base_url, profile.target.pages, max_pages=15, total_s=10
        )
        responses.extend(pages.pages)
        if profile.auth.me_path:
            responses.append(fetch(session.client, "GET", profile.auth.me_path, total_s=5))
        refresh = next((p for p in target.openapi.get("paths", {}) if "refresh" in p), None)
        if refresh:
            responses.append(
                fetch(
                    session.client, "POST", refresh, total_s=8, headers=session.headers_for_write()
                )
            )
        with target.client(local_address=SOURCE) as anonymous:
            errors = probe_errors(
                session.client,
                target.openapi,
                write_headers=session.headers_for_write(),
                me_path=profile.auth.me_path,
                anonymous=anonymous,
            )
        responses.extend(s.response for s in errors.samples)
    finally:
        session.close()
    login_steps = list(session.steps)
    issued = (
        {**_issued_tokens(target), **_client_credentials(target)}
        if oauth
        else _login_tokens(session)
    )
    # Session identifiers the harness itself received: bearer credentials like any token.
    # Searched in logs and bodies only: Set-Cookie headers are where they belong.
    held = {}
    for each in [session, *other_sessions]:
        held.update(
            {
                f"{each.flow} login: {k}": v
                for k, v in session_ids.received(each.client.cookies, each.steps).items()
            }
        )
    app_secrets = _app_secrets(target)
    secrets = {**issued, **app_secrets}
    for value in [*secrets.values(), *held.values()]:
        evidence.secret(value)
    scanner = SecretScanner(secrets)
    if not scanner:
        raise NotEvaluated(
            "no secret known to look for: the login answer held no token and the app's "
            "environment could not be read"
        )
    # The login answer is where the login's own tokens belong: search it for the rest only.
    login_path = profile.auth.api_login_path if not oauth else None
    answer_scanner = SecretScanner(app_secrets) if not oauth else scanner
    hits = []
    for response in responses:
        text = "\n".join(f"{k}: {v}" for k, v in response.headers.items()) + "\n" + response.body
        for hit in scanner.scan_text(text, f"{response.method} {response.url} [{response.status}]"):
            hits.append(hit)
    for step in login_steps:
        headers = "\n".join(
            f"{k}: {v}" for k, v in step.headers.items() if k.lower() != "set-cookie"
        )
        body = step.text if step.headers.get("content-type", "").startswith(("text", "app")) else ""
        search = answer_scanner if _is_login_answer(step, login_path) else scanner
        if not search:
            continue
        for hit in search.scan_text(headers + "\n" + body, f"login step {step.url}"):
            hits.append(hit)
    held_scanner = SecretScanner(held)
    if held_scanner:
        for response in responses:
            for hit in held_scanner.scan_text(
                response.body, f"{response.method} {response.url} [{response.status}] body"
            ):
                hits.append(hit)
    log_scanner = SecretScanner({**secrets, **held})
    log_lines = target.log_lines(mark)
    for index, line in enumerate(log_lines):
        for hit in log_scanner.scan_text(line, f"app log line {mark + index}"):
            hits.append(hit)
    front_lines = 0
    for name, since in front_marks.items():
        lines = target.stack.logs(name, since)
        front_lines += len(lines)
        for index, line in enumerate(lines):
            for hit in log_scanner.scan_text(line, f"{name} log line {since + index}"):
                hits.append(hit)
    evidence.json(
        "what was searched",
        {
            "secrets": sorted(secrets),  # labels only; values are redacted
            "session identifiers the harness received": sorted(held),
            "login flows": [profile.auth.flow, *(o.flow for o in other_sessions)],
            "responses": len(responses) + len(login_steps),
            "log_lines": len(log_lines),
            "logs of the services in front of the app": {
                "services": sorted(front_marks),
                "lines": front_lines,
            },
        },
    )
    for hit in hits[:5]:
        evidence.text(f"leak: {hit.label}", hit.describe() + "\n" + hit.excerpt)
    if not hits and responses:
        evidence.http(as_response(responses[0]), title="a response searched")
    assert not hits, "secrets leaked:\n" + "\n".join(h.describe() for h in hits[:20])
