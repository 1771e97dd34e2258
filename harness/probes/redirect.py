"""Open redirects: redirect parameters must only lead to same-origin paths."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel

from harness.probes.bounded import Fetched

EVIL_HOST = "evil.test"
PAYLOADS = [
    "https://evil.test/",
    "//evil.test/",
    "/\\evil.test/",
    "\\\\evil.test/",
    "https:evil.test",
    "%2F%2Fevil.test/",
    "https://evil.test%2F@{host}/",
    "https://{host}@evil.test/",
    "/%09/evil.test/",
    "javascript:alert(1)//",
]
PARAM_NAMES = [
    "next",
    "redirect",
    "redirect_uri",
    "redirect_url",
    "return_to",
    "returnTo",
    "return",
    "url",
    "continue",
    "dest",
    "destination",
    "goto",
]


class RedirectOutcome(BaseModel):
    url: str
    param: str
    payload: str
    status: int
    location: str | None
    resolved: str | None
    escaped: bool

    def describe(self) -> str:
        return (
            f"{self.url} with {self.param}={self.payload!r} -> HTTP {self.status} "
            f"Location {str(self.location)[:160]!r}"
        )


def leaves_origin(request_url: str, location: str | None) -> tuple[bool, str | None]:
    """Would a browser following ``location`` land on the attacker's host (or run script)?"""
    if not location:
        return False, None
    stripped = location.strip()
    if stripped.lower().startswith(("javascript:", "data:", "vbscript:")):
        return True, stripped
    # Browsers treat backslashes as slashes and drop tabs/newlines in special URLs (WHATWG).
    normalised = stripped.replace("\\", "/").replace("\t", "").replace("\n", "").replace("\r", "")
    resolved = urljoin(request_url, normalised)
    host = (urlsplit(resolved).hostname or "").lower()
    # Only the attacker's host counts: a fixed redirect to a known third party (the OAuth
    # provider's authorize page) is not controlled by the parameter.
    return host == EVIL_HOST or host.endswith("." + EVIL_HOST), resolved


def judge(url: str, param: str, payload: str, response: Fetched) -> RedirectOutcome:
    location = response.header("location")
    escaped, resolved = leaves_origin(response.url or url, location)
    if not escaped and response.status == 200:
        # A page that puts the value into a meta refresh or a link is an open redirect too.
        body = (response.body or "").lower()
        for marker in ('http-equiv="refresh"', "window.location", "location.href"):
            if marker in body and EVIL_HOST in body.split(marker, 1)[1][:300]:
                escaped, resolved = True, f"{marker} in the body"
    return RedirectOutcome(
        url=url,
        param=param,
        payload=payload,
        status=response.status,
        location=location,
        resolved=resolved,
        escaped=escaped,
    )
