"""SEC-01: security headers on every response class, not only on the home page."""

from __future__ import annotations

import secrets

import pytest

from harness.loopback import burst, source
from harness.probes.actor import Actor
from harness.probes.bounded import as_response, fetch, unanswered_summary
from harness.probes.coverage import safe_surface
from harness.probes.crawl import crawl
from harness.probes.headers import check_security_headers
from harness.probes.surface import Surface, from_crawl, probe_errors, provoke_5xx
from harness.verdicts import NotEvaluated

pytestmark = pytest.mark.stack

SOURCE = source(76)
THROTTLE_SOURCE = source(75)


def _provoke_429(target):
    """A 429 from the auth route, sent from an address of its own (a name that exists nowhere,
    so no account gets locked)."""
    auth = target.profile.auth
    if not auth.api_login_path:
        return None
    cap = 2 * (target.profile.limits.auth_requests or 50) + 2
    body = {
        auth.username_field: f"headers-{secrets.token_hex(4)}",
        auth.password_field: "wrong-password",
    }
    with target.client(local_address=THROTTLE_SOURCE) as client:
        for _ in range(cap):
            answer = fetch(client, "POST", auth.api_login_path, json=body, total_s=5)
            if answer.status == 429:
                return answer
    return None


@pytest.mark.control("SEC-01")
def test_security_headers_on_every_response_class(target, login, evidence):
    profile = target.profile
    https = target.base_url.startswith("https://")
    surface = Surface()
    document, no_document = target.openapi_or_empty()
    walk = safe_surface(target.safety, document)  # safe mode: the writes held back
    if no_document:
        surface.notes.append(f"{no_document}: no API operations walked (pages and errors were)")
    # Anonymous on purpose (the logged-in surface is walked below through the session).
    with target.client() as anonymous:
        anon_crawl = crawl(
            anonymous,
            target.base_url,
            [*profile.target.pages, *profile.target.static_paths],
            max_pages=15,
            total_s=15,
        )
        from_crawl(surface, anon_crawl)
        if profile.target.openapi_path:
            surface.add("api-json", fetch(anonymous, "GET", profile.target.openapi_path, total_s=5))
        actor = Actor(
            lambda: login(local_address=SOURCE),
            client_factory=lambda a: target.client(local_address=a),
            addresses=burst(76, 8),
        )
        session = actor.session
        user_crawl = crawl(
            session.client, target.base_url, profile.target.pages, max_pages=20, total_s=15
        )
        from_crawl(surface, user_crawl)
        if profile.auth.me_path:
            surface.add("api-json", actor.send("GET", profile.auth.me_path))
        errors = probe_errors(
            session.client,
            walk.document,
            write_headers=session.headers_for_write(),
            me_path=profile.auth.me_path,
            anonymous=anonymous,
        )
        surface.extend(errors)
        walk.hold(errors.held)
        throttled = _provoke_429(target)
        if throttled is not None:
            surface.add("429", throttled)
        else:
            surface.notes.append(
                "no 429 within twice the auth limit: not checked here (SEC-03 judges rate limiting)"
            )
        crashes = provoke_5xx(
            actor.send,
            walk.document,
            {},
            budget=15,
            csrf_header=profile.auth.csrf_header,
            unanswered=surface.unanswered,
        )
        for crash in crashes:
            surface.add("5xx", crash)
        if not crashes:
            surface.notes.append(
                "no 5xx could be provoked without disruption (NUL bytes, "
                "over-long strings, out-of-range ids); 5xx responses were "
                "not checked"
            )
        actor.close()

    issues = []
    per_class: dict[str, int] = {}
    shown: set[str] = set()
    for sample in surface.samples:
        per_class[sample.cls] = per_class.get(sample.cls, 0) + 1
        found = check_security_headers(sample.response, https=https)
        issues.extend((sample.cls, i) for i in found)
        # One request/response pair per class (and every failing one) as evidence.
        if sample.cls not in shown or found:
            shown.add(sample.cls)
            evidence.http(
                as_response(sample.response),
                title=f"{sample.cls}: {sample.response.method} {sample.response.url}",
            )
    evidence.json("response classes checked", {"classes": per_class, "notes": surface.notes})
    for note in surface.notes:
        evidence.text("note", note)
    # A reset or a timeout is an observation: its headers cannot be checked, the rest are.
    unanswered = unanswered_summary(surface.unanswered)
    if unanswered:
        evidence.text("requests the target did not answer", unanswered)
        evidence.json(
            "unanswered requests",
            [{"method": r.method, "url": r.url, "error": r.error} for r in surface.unanswered],
        )
    evidence.figure("requests the target did not answer", len(surface.unanswered), "requests")
    also = f" ({unanswered})" if unanswered else ""
    # Pages, static files and the redirects met while crawling pages exist only when the
    # profile names pages or static paths: a JSON-only API has none to check.
    # A JSON answer exists to check when the target has a document or an identity route.
    required = ["404"]
    required += ["api-json"] if not no_document or profile.auth.me_path else []
    required += ["page", "redirect"] if profile.target.pages else []
    required += ["static"] if profile.target.static_paths else []
    assert not issues, (
        f"{len(issues)} security header problems on {len({i.url for _, i in issues})} "
        f"responses{also}:\n"
        + "\n".join(f"[{cls}] {issue.describe()}" for cls, issue in issues[:40])
    )
    # A class the probes could not obtain was not checked: partial coverage, never a pass (and
    # not the target's failure either: a site may simply have no redirect to meet).
    missing = [cls for cls in required if cls not in per_class]
    if missing:
        raise NotEvaluated(
            f"no problem on the classes checked ({', '.join(sorted(per_class))}), but no "
            f"{', '.join(missing)} response could be obtained to check" + also
        )
    walk.conclude()
