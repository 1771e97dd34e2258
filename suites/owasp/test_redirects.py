"""SEC-13: redirect parameters on pages and in the login flow lead to same-origin paths only."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import httpx
import pytest

from harness.auth import AuthError
from harness.auth import login as do_login
from harness.loopback import source
from harness.probes.bounded import Fetched, as_response, fetch
from harness.probes.redirect import PARAM_NAMES, PAYLOADS, judge

pytestmark = pytest.mark.stack

SOURCE = source(89)
FLOW_SOURCE = source(90)


def _fetched(response) -> Fetched:
    return Fetched(
        method=response.request.method,
        url=str(response.request.url),
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=response.text[:20000] if "html" in response.headers.get("content-type", "") else "",
    )


@pytest.mark.control("SEC-13")
def test_no_open_redirects(target, login, evidence):
    profile = target.profile
    auth = profile.auth
    host = urlsplit(target.base_url).netloc
    payloads = [p.replace("{host}", host) for p in PAYLOADS]
    outcomes = []
    # 1. Pages (logged in and anonymous) with the profile's ``next`` parameter; the login and
    # OAuth start routes (anonymous) with every common redirect parameter name. Auth routes
    # are rate limited per client address, so each parameter name gets its own address.
    auth_entries = list(
        dict.fromkeys(
            [auth.login_path] + ([auth.oauth.start_path] if auth.oauth is not None else [])
        )
    )
    session = login(local_address=SOURCE)
    plan: list[tuple[str, str | None, str, str]] = []  # who, source address, path, param
    for path in profile.target.pages:
        plan.append(("logged in", None, path, auth.next_param))
        plan.append(("anonymous", SOURCE, path, auth.next_param))
    for index, param in enumerate(PARAM_NAMES[:6]):
        for path in auth_entries:
            plan.append(("anonymous", source(89, 1 + index), path, param))
    clients: dict[str, object] = {}
    try:
        for who, address, path, param in plan:
            if address is None:
                client = session.client
            else:
                client = clients.get(address) or target.client(local_address=address)
                clients[address] = client
            for payload in payloads:
                raw = payload if payload.startswith("%") else quote(payload, safe="")
                url = f"{path}?{param}={raw}"
                response = fetch(client, "GET", url, total_s=5, follow_redirects=False)
                outcomes.append((who, judge(url, param, payload, response), response))
    finally:
        for client in clients.values():
            client.close()
    # 2. The login flow itself carries ``next`` to its final redirect (form, api, oauth).
    flow_outcomes = []
    for payload in payloads[:6]:
        try:
            flowed = do_login(target, local_address=FLOW_SOURCE, next_path=payload)
        except (AuthError, httpx.HTTPError, httpx.InvalidURL) as exc:
            # The login client could not follow where the app sent it: recorded, the page
            # probes above judge the parameter.
            flow_outcomes.append(
                {"payload": payload, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            )
            continue
        try:
            for step in flowed.steps:
                location = step.headers.get("location")
                if location and 300 <= step.status_code < 400:
                    outcome = judge(str(step.request.url), auth.next_param, payload, _fetched(step))
                    if outcome.escaped:
                        outcomes.append(("login flow", outcome, _fetched(step)))
                    flow_outcomes.append(
                        {
                            "payload": payload,
                            "step": str(step.request.url),
                            "location": location,
                            "escaped": outcome.escaped,
                        }
                    )
        finally:
            flowed.close()
    escaped = [(who, o, r) for who, o, r in outcomes if o.escaped]
    evidence.json(
        "redirect probes",
        {
            "requests": len(outcomes),
            "redirects_seen": sum(1 for _, o, _ in outcomes if o.location),
            "escaped": [f"{who}: {o.describe()}" for who, o, _ in escaped],
            "login_flow": flow_outcomes,
        },
    )
    for who, outcome, response in escaped[:4]:
        evidence.http(as_response(response), title=f"open redirect ({who}) via {outcome.param}")
    if not escaped:
        sample = next((r for _, o, r in outcomes if o.location), None)
        if sample is not None:
            evidence.http(as_response(sample), title="a redirect that stayed on the origin")
    assert outcomes, "no redirect parameter could be exercised"
    assert not escaped, "open redirects:\n" + "\n".join(
        f"{who}: {o.describe()}" for who, o, _ in escaped[:20]
    )
