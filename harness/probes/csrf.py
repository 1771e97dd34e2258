"""CSRF: cookie-authenticated state changes from another site must be rejected.

A cross-site attacker can make the victim's browser send the cookie, but cannot read the
CSRF token nor forge the Origin header. So a request with ``Origin: https://evil.test`` and no
or a wrong token must fail, and the same request with the session's token from our own
origin must succeed (positive control: otherwise the probe proves nothing). The cases are
sent to API operations by ``harness.probes.csrf_ops``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from harness.probes.bounded import Fetched

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")

EVIL_ORIGIN = "https://evil.test"


class CsrfCase(BaseModel):
    name: str
    headers: dict[str, str]
    form: bool = False  # send as application/x-www-form-urlencoded (a classic form post)
    expect_success: bool = False
    # Reported, never failing: a valid token alone is an accepted defence (OWASP CSRF sheet).
    informational: bool = False
    # Crawled forms carry their token in a hidden field: the page's own, none, or a wrong one.
    field_token: Literal["page", "none", "wrong"] = "page"


def cases(csrf_header: str | None, token: str | None, own_origin: str) -> list[CsrfCase]:
    wrong = "0" * max(len(token or ""), 16)
    out = [
        CsrfCase(
            name="cross-site, no token",
            headers={"Origin": EVIL_ORIGIN, "Referer": EVIL_ORIGIN + "/x"},
        ),
        CsrfCase(
            name="cross-site form post, no token",
            form=True,
            headers={"Origin": EVIL_ORIGIN, "Referer": EVIL_ORIGIN + "/x"},
        ),
        CsrfCase(name="same-origin, no token", headers={"Origin": own_origin}),
    ]
    if csrf_header:
        out.append(
            CsrfCase(
                name="cross-site, wrong token", headers={"Origin": EVIL_ORIGIN, csrf_header: wrong}
            )
        )
        if token:
            out.append(
                CsrfCase(
                    name="cross-site with the victim's real token",
                    headers={"Origin": EVIL_ORIGIN, csrf_header: token},
                    informational=True,
                )
            )
            out.append(
                CsrfCase(
                    name="same-origin with token (positive control)",
                    headers={"Origin": own_origin, csrf_header: token},
                    expect_success=True,
                )
            )
    return out


def accepted(response: Fetched) -> bool:
    """The server carried out the change (2xx) instead of refusing it."""
    return 200 <= response.status < 300


def form_cases(has_token: bool, own_origin: str) -> list[CsrfCase]:
    """Cases for a crawled HTML form (its token, if any, is a hidden field)."""
    evil = {"Origin": EVIL_ORIGIN, "Referer": EVIL_ORIGIN + "/x"}
    out = [CsrfCase(name="cross-site form post, no token", headers=evil, field_token="none")]
    if has_token:
        out.append(
            CsrfCase(name="cross-site form post, wrong token", headers=evil, field_token="wrong")
        )
    out.append(
        CsrfCase(
            name="same-origin form post with the page's own fields (positive control)",
            headers={"Origin": own_origin, "Referer": own_origin + "/"},
            expect_success=True,
        )
    )
    return out


def form_accepted(response: Fetched, login_paths: list[str]) -> bool:
    """A form post went through: 2xx, or the usual redirect after a post (not to the login).

    Frameworks refuse a bad token with 400/403/419/422, never with a redirect to the result.
    """
    if 200 <= response.status < 300:
        return True
    location = response.headers.get("location", "")
    return 300 <= response.status < 400 and not any(p and p in location for p in login_paths)
