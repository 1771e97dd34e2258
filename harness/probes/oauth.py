"""OAuth client checks (AUTH-08): what the authorize redirect carries, and whether the
callback insists on the ``state`` it issued."""

from __future__ import annotations

import math
import re
import secrets
import string
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from harness.auth import oauth as steps
from harness.target import Target
from harness.verdicts import NotApplicable

CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(SHA-256), no padding (RFC 7636 4.2)
MIN_STATE_BITS = 128.0  # RFC 6749 10.10: guessing probability <= 2^-128


def entropy_bits(value: str) -> float:
    """Upper bound from length and alphabet (a random token reaches it; a counter does not)."""
    if not value:
        return 0.0
    alphabets = [
        (set(string.digits), 10),
        (set(string.hexdigits), 16),
        (set(string.ascii_letters + string.digits), 62),
        (set(string.ascii_letters + string.digits + "-_"), 64),
        (set(string.ascii_letters + string.digits + "+/="), 64),
    ]
    chars = set(value)
    size = next((n for alphabet, n in alphabets if chars <= alphabet), 95)
    distinct = len(chars)
    # A long value made of very few symbols ("aaaa...") is not random.
    return len(value) * math.log2(min(size, max(distinct, 2)))


class AuthorizeCheck(BaseModel):
    url: str
    params: dict[str, str]
    state_bits: float
    problems: list[str] = Field(default_factory=list)


def check_authorize(
    url: str, params: dict[str, str], other: dict[str, str] | None = None
) -> AuthorizeCheck:
    """PKCE S256 with a well-formed challenge, a high-entropy state, both fresh per login."""
    problems = []
    method = params.get("code_challenge_method")
    challenge = params.get("code_challenge", "")
    if method != "S256":
        problems.append(f"code_challenge_method={method!r} (expected 'S256')")
    if not challenge:
        problems.append("no code_challenge: PKCE is not used")
    elif not CHALLENGE.match(challenge):
        problems.append(
            f"code_challenge is {len(challenge)} chars, not 43 base64url chars of a SHA-256 digest"
        )
    state = params.get("state", "")
    bits = entropy_bits(state)
    if not state:
        problems.append("no state parameter")
    elif bits < MIN_STATE_BITS:
        problems.append(f"state has at most {bits:.0f} bits of entropy (< {MIN_STATE_BITS:.0f})")
    if params.get("response_type") != "code":
        problems.append(f"response_type={params.get('response_type')!r} (expected 'code')")
    if other is not None:
        for key in ("state", "code_challenge"):
            if params.get(key) and params.get(key) == other.get(key):
                problems.append(f"{key} is the same in two logins: not per-request")
    return AuthorizeCheck(url=url, params=params, state_bits=round(bits, 1), problems=problems)


class CallbackReplay(BaseModel):
    variant: str
    callback_url: str
    status: int
    location: str | None = None
    me_status: int
    accepted: bool
    control_status: int | None = Field(
        default=None, description="the untampered callback afterwards: proves the code was good"
    )
    control_accepted: bool | None = None


def _tamper(url: str, variant: str) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    genuine = {v for k, v in pairs if k == "state"}
    query = [(k, v) for k, v in pairs if k != "state"]
    if variant == "wrong state":
        # A fresh random value; never the genuine one, however unlikely, or the probe would
        # deliver an untampered callback and call the state check broken.
        wrong = secrets.token_urlsafe(24)
        while wrong in genuine:
            wrong = secrets.token_urlsafe(24)
        query.append(("state", wrong))
    elif variant == "empty state":
        query.append(("state", ""))
    return urlunsplit(parts._replace(query=urlencode(query)))


def replay_callback(
    target: Target, user_name: str, variant: str, *, local_address: str | None = None
) -> CallbackReplay:
    """Run the flow to the provider's answer, deliver it with a tampered ``state``.

    Then deliver the genuine answer: if that one logs in, the code itself was valid and only
    the state check can have refused the tampered one.
    """
    auth = target.profile.auth
    settings, me_path = auth.require_oauth(), auth.require_me_path()
    # Deliberately without a session: this client runs the OAuth login itself.
    with target.client(local_address=local_address) as client:
        authorize = steps.begin(client, settings)
        consent = steps.approve(client, authorize, user_name, settings, target.base_url)
        tampered = _tamper(consent.callback_url, variant)
        response = steps.complete(client, tampered)
        me_status = client.get(me_path).status_code
        result = CallbackReplay(
            variant=variant,
            callback_url=tampered,
            status=response.status_code,
            location=response.headers.get("location"),
            me_status=me_status,
            accepted=response.status_code < 400 and me_status == 200,
        )
        if not result.accepted:
            control = steps.complete(client, consent.callback_url)
            result.control_status = control.status_code
            result.control_accepted = client.get(me_path).status_code == 200
    return result


# -- the provider's own view (a mock that records what it issued and received) -------------


class IssuedToken(BaseModel):
    access_token: str
    refresh_token: str | None = None
    user: str | None = None
    issued_at: float = 0.0
    revoked: bool = False
    access_revoked: bool | None = None
    refresh_revoked: bool | None = None


class ProviderRequest(BaseModel):
    time: float = 0.0
    method: str = ""
    path: str = ""
    query: str | dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None

    def carries(self, secret: str) -> bool:
        """The secret is in the body or the query (RFC 7009 sends it as a form field)."""
        text = f"{self.body or ''} {self.query or ''}"
        return secret in text or quote(secret, safe="") in text


def _provider_get(target: Target, path: str) -> Any:
    provider = target.service_url(target.profile.auth.require_oauth().require_provider_service())
    # The identity provider's own test routes, not the target: no user credential applies.
    with target.client(base=provider) as client:
        response = client.get(path)
    if response.status_code != 200:
        raise NotApplicable(
            f"the OAuth provider has no inspection route {provider}{path} "
            f"(HTTP {response.status_code})"
        )
    return response.json()


def issued_tokens(target: Target) -> list[IssuedToken]:
    """Every token the provider issued (needs its ``oauth.tokens_path`` inspection route)."""
    data = _provider_get(target, target.profile.auth.require_oauth().require_tokens_path())
    return [IssuedToken.model_validate(item) for item in data if isinstance(item, dict)]


def provider_requests(target: Target) -> list[ProviderRequest]:
    data = _provider_get(target, target.profile.auth.require_oauth().require_requests_path())
    return [ProviderRequest.model_validate(item) for item in data if isinstance(item, dict)]
