"""OAuth controls: tokens at rest (AUTH-02), logout revocation (AUTH-03), PKCE and state
(AUTH-08). They need the provider's inspection routes (the bundled mock has them)."""

from __future__ import annotations

import time

import pytest

from harness.auth import LoginFactory, logout
from harness.evidence import Evidence
from harness.findings import Confidence, Finding, Severity
from harness.probes.oauth import (
    IssuedToken,
    check_authorize,
    issued_tokens,
    provider_requests,
    replay_callback,
)
from harness.probes.secrets import SecretHit, SecretScanner
from harness.probes.sessions import replay
from harness.profile import Profile
from harness.target import Target
from harness.verdicts import NotApplicable

CLOCK_SLACK_S = 1.0


def _oauth(profile: Profile) -> None:
    if profile.auth.flow != "oauth-pkce":
        raise NotApplicable(f"auth.flow is {profile.auth.flow!r}, not 'oauth-pkce'")


def _provider_user(profile: Profile) -> str:
    return profile.auth.users[0].name if profile.auth.users else "alice"


def _mine(tokens: list[IssuedToken], user: str, since: float) -> list[IssuedToken]:
    return [t for t in tokens if t.user in (None, user) and t.issued_at >= since - CLOCK_SLACK_S]


def _datastore_urls(profile: Profile, target: Target) -> dict[str, str]:
    """Database and Redis URLs from the profile, else from the stack; missing ones left out."""
    urls: dict[str, str] = {}
    stores = profile.datastores
    for kind, explicit, service in (
        ("database", stores.database_url, stores.database_service),
        ("redis", stores.redis_url, stores.redis_service),
    ):
        if explicit:
            urls[kind] = explicit
        elif service:
            try:
                urls[kind] = target.service_url(service)
            except NotApplicable:
                continue
    return urls


@pytest.mark.control("AUTH-02")
def test_provider_tokens_encrypted_at_rest(
    profile: Profile, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    _oauth(profile)
    urls = _datastore_urls(profile, target)
    if not urls:
        raise NotApplicable("the profile gives no database or Redis access (datastores.*)")
    user = _provider_user(profile)
    hits: list[SecretHit] = []
    scanned = 0
    for _attempt in range(3):
        since = time.time()
        login(user)
        tokens = issued_tokens(target)
        mine = _mine(tokens, user, since)
        assert mine, f"the provider lists no token issued to {user!r} for this login"
        secrets = {}
        for index, token in enumerate(tokens):
            secrets[f"{token.user} access token #{index}"] = token.access_token
            if token.refresh_token:
                secrets[f"{token.user} refresh token #{index}"] = token.refresh_token
        for value in secrets.values():
            evidence.secret(value)
        scanner = SecretScanner(secrets)
        scanned = len(scanner.secrets)
        hits = []
        if "database" in urls:
            hits += scanner.scan_database(urls["database"])
        if "redis" in urls:
            hits += scanner.scan_redis(urls["redis"])
        # A concurrent logout of the same provider user may have removed (and revoked) this
        # login's tokens before the scan: then the scan proved nothing, so do it again.
        fresh = _mine(issued_tokens(target), user, since)
        if hits or any(not t.revoked for t in fresh):
            break
    evidence.json(
        "at-rest scan",
        {
            "stores": sorted(urls),
            "secrets_searched": scanned,
            "encodings": "raw, base64/base64url (any alignment, padded or not), hex, percent",
            "hits": [h.model_dump() for h in hits],
        },
    )
    for hit in hits:
        evidence.finding(
            Finding(
                rule="probe:token-at-rest",
                title=f"provider token stored readable ({hit.encoding})",
                severity=Severity.HIGH,
                confidence=Confidence.CONFIRMED,
                control="AUTH-02",
                cwe=312,
                owasp="A02",
                parameter=hit.location,
                evidence=hit.excerpt,
            )
        )
    assert not hits, "provider tokens readable at rest: " + "; ".join(
        h.describe() for h in hits[:10]
    )


@pytest.mark.control("AUTH-03")
def test_logout_revokes_tokens_and_session(
    profile: Profile, target: Target, login: LoginFactory, evidence: Evidence
) -> None:
    _oauth(profile)
    user = _provider_user(profile)
    since = time.time()
    session = login(user)
    old_cookie = session.cookie_value
    assert old_cookie, "login set no session cookie"
    mine = _mine(issued_tokens(target), user, since)
    assert mine, f"the provider lists no token issued to {user!r} for this login"
    for token in mine:
        evidence.secret(token.access_token)
        if token.refresh_token:
            evidence.secret(token.refresh_token)
    logout_started = time.time()
    response = logout(session)
    assert response is not None
    evidence.http(response, "logout")
    problems = []
    if response.status_code >= 400:
        problems.append(f"logout at {response.request.url} answered HTTP {response.status_code}")
    # The tokens the app held for this user: ours, or newer ones if a concurrent login of the
    # same provider user replaced them (both must be revoked by the app on logout).
    held = _mine(issued_tokens(target), user, since)
    secrets = [s for t in held for s in (t.access_token, t.refresh_token) if s]
    revocations = [
        r
        for r in provider_requests(target)
        if r.time >= logout_started - CLOCK_SLACK_S
        and r.method == "POST"
        and any(r.carries(s) for s in secrets)
    ]
    revoked = [t for t in held if t.revoked]
    old = replay(target, old_cookie, note="the cookie from before logout")
    evidence.json(
        "after logout",
        {
            "revocation_requests": [
                r.model_dump(include={"time", "method", "path"}) for r in revocations
            ],
            "tokens_issued_since_login": len(held),
            "tokens_revoked": len(revoked),
            "old_cookie_replay": old.model_dump(),
        },
    )
    if not revocations:
        problems.append(
            "the provider received no revocation request carrying the issued tokens after logout"
        )
    if not revoked:
        problems.append("the provider shows none of the tokens issued at login as revoked")
    if old.authenticated:
        problems.append(
            f"the pre-logout session cookie is still accepted: GET {old.url} -> "
            f"HTTP {old.status} (the server-side session was not deleted)"
        )
    assert not problems, "; ".join(problems)


@pytest.mark.control("AUTH-08")
def test_authorize_request_uses_pkce_s256_and_state(
    profile: Profile, target: Target, evidence: Evidence
) -> None:
    _oauth(profile)
    from harness.auth import oauth as steps

    # Two fresh browsers that start the OAuth login themselves: no session exists yet.
    with target.client() as first, target.client() as second:
        one = steps.begin(first, profile.auth.require_oauth())
        two = steps.begin(second, profile.auth.require_oauth())
    evidence.http(one.start, "OAuth start: redirect to the authorize endpoint")
    check = check_authorize(one.url, one.params, two.params)
    evidence.json(
        "authorize request parameters",
        {
            "params": {k: v for k, v in one.params.items() if k not in ("state", "code_challenge")},
            "state_length": len(one.params.get("state", "")),
            "state_bits": check.state_bits,
            "code_challenge_length": len(one.params.get("code_challenge", "")),
            "problems": check.problems,
        },
    )
    assert not check.problems, f"authorize redirect {one.url.split('?')[0]}: " + "; ".join(
        check.problems
    )


@pytest.mark.control("AUTH-08")
@pytest.mark.parametrize("variant", ["wrong state", "no state"])
def test_callback_rejects_bad_state(
    profile: Profile, target: Target, variant: str, evidence: Evidence
) -> None:
    _oauth(profile)
    result = replay_callback(target, _provider_user(profile), variant)
    evidence.json(f"callback with {variant}", result.model_dump(exclude={"callback_url"}))
    assert not result.accepted, (
        f"the OAuth callback {profile.auth.require_oauth().callback_path} accepted a login with "
        f"{variant}: "
        f"HTTP {result.status} (Location {result.location}) and the session is logged in "
        f"(me -> HTTP {result.me_status})"
    )
    assert result.status < 500, (
        f"callback with {variant} answered HTTP {result.status}: a server error, not a refusal"
    )
