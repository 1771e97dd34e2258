"""OBS-06: user input cannot forge log lines.

CR/LF followed by a complete JSON record, and a quote that would close the message string and
add forged keys, are sent through every input a log line is likely to quote: the path, the
query string, the User-Agent and Referer headers, the login username and every string query
parameter of the API's GET operations (as a logged-in user). Afterwards every log
line carrying the payload must still be one intact record (JSON, or a line of the profile's
regex format), and no record may have a field that the payload made up; with plain-text lines,
no line may start inside the payload (see harness/probes/log_injection.py).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from harness import logs
from harness.auth.forms import parse_page
from harness.loopback import source
from harness.operations import build_request, operations
from harness.probes import log_injection
from harness.probes.bounded import as_response, fetch

pytestmark = pytest.mark.stack

SOURCE = source(66)


@pytest.mark.control("OBS-06")
def test_input_cannot_forge_log_records(target, app_log, login, evidence):
    sent = log_injection.payloads()
    settings = target.profile.target
    auth = target.profile.auth
    requests = []
    # Anonymous on purpose: forged log lines must be refused for any caller.
    with target.client(local_address=SOURCE) as client:
        for name, payload in sent.all().items():
            requests.append(
                (f"path ({name})", fetch(client, "GET", "/" + quote(payload, safe=""), total_s=5))
            )
            requests.append(
                (
                    f"query ({name})",
                    fetch(client, "GET", settings.live_path, params={"q": payload}, total_s=5),
                )
            )
        for name, payload in sent.header_safe().items():
            requests.append(
                (
                    f"User-Agent ({name})",
                    fetch(
                        client,
                        "GET",
                        settings.live_path,
                        headers={"User-Agent": payload},
                        total_s=5,
                    ),
                )
            )
            requests.append(
                (
                    f"Referer ({name})",
                    fetch(
                        client, "GET", settings.live_path, headers={"Referer": payload}, total_s=5
                    ),
                )
            )
        for name, payload in sent.all().items():
            requests.append(
                (f"login username ({name})", _login_attempt(client, target, auth, payload))
            )
    # Every string query parameter of the API's GET operations, as a logged-in user: search
    # terms and filters are what applications like to log.
    session = login(local_address=SOURCE)
    for op in operations(target.openapi):
        if op.method != "GET":
            continue
        for param in op.query_params:
            if param.schema_.get("type", "string") != "string" or param.schema_.get("enum"):
                continue
            for name, payload in sent.all().items():
                method, path, kwargs = build_request(op, {}, ("query", param.name, payload))
                requests.append(
                    (
                        f"{op.path} ?{param.name} ({name})",
                        fetch(session.client, method, path, total_s=5, **kwargs),
                    )
                )
    lines = app_log.lines()
    verdict = log_injection.judge(lines, sent, logs.LogParser.from_settings(target.profile.logs))
    for label, fetched in requests:
        if not label.startswith(("query", "User-Agent", "Referer")) and "crlf" in label:
            evidence.http(as_response(fetched), label)
    evidence.json(
        "requests with payloads",
        [
            {"input": label, "method": f.method, "url": f.url, "status": f.status}
            for label, f in requests
        ],
    )
    evidence.log(verdict.evidence, "app log lines carrying the payload's marker or forged token")
    evidence.json("verdict", verdict.model_dump(exclude={"evidence"}))
    assert verdict.marker_lines > 0 or verdict.forgeries, (
        f"none of the {len(requests)} payload requests left a trace in the app log "
        f"(marker {sent.marker}): the log cannot be judged"
    )
    assert not verdict.forgeries, (
        f"{len(verdict.forgeries)} forged or broken log line(s): "
        + "; ".join(f"line {f.index}: {f.reason}: {f.line[:160]!r}" for f in verdict.forgeries[:4])
    )
    assert verdict.marker_lines == verdict.marker_records, (
        f"{verdict.marker_lines} log lines carry the marker but only {verdict.marker_records} "
        "are records"
    )
    evidence.figure("log records carrying payloads", verdict.marker_records, "records")


def _login_attempt(client, target, auth, username):
    """A failed login whose username is the payload (password wrong on purpose)."""
    if auth.api_login_path:
        return fetch(
            client,
            "POST",
            auth.api_login_path,
            total_s=5,
            json={auth.username_field: username, auth.password_field: "wrong-pass-1"},
        )
    page = client.get(auth.login_path)
    form = next((f for f in parse_page(page.text).forms if f.has_password()), None)
    data = form.values() if form else {}
    data[auth.username_field] = username
    data[auth.password_field] = "wrong-pass-1"
    action = form.action if form and form.action else auth.login_path
    return fetch(client, "POST", action, total_s=5, data=data)
