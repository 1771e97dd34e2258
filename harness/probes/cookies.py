"""Raw ``Set-Cookie`` parsing and the session-cookie flag check (AUTH-06).

http.cookiejar and httpx normalise cookies and drop attributes (SameSite), so the check reads
the raw header lines as the server sent them.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from harness.profile.auth_sections import AuthSettings


class SetCookie(BaseModel):
    name: str
    value: str
    attributes: dict[str, str]
    raw: str

    @property
    def httponly(self) -> bool:
        return "httponly" in self.attributes

    @property
    def secure(self) -> bool:
        return "secure" in self.attributes

    @property
    def samesite(self) -> str | None:
        value = self.attributes.get("samesite")
        return value.capitalize() if value else None

    @property
    def deletes(self) -> bool:
        """A Set-Cookie that clears the cookie (logout), not one that sets a session."""
        return (
            not self.value
            or self.attributes.get("max-age") == "0"
            or "1970" in self.attributes.get("expires", "")
        )


def parse_set_cookie(header: str) -> SetCookie:
    first, *rest = header.split(";")
    name, _, value = first.partition("=")
    attributes: dict[str, str] = {}
    for part in rest:
        key, _, val = part.strip().partition("=")
        if key:
            attributes[key.strip().lower()] = val.strip().strip('"')
    return SetCookie(
        name=name.strip(), value=value.strip().strip('"'), attributes=attributes, raw=header
    )


def cookie_problems(cookie: SetCookie, *, https: bool = True) -> list[str]:
    """What is wrong with a session cookie's flags (ASVS 3.4.1-3.4.3); empty when fine.

    Secure is required whatever the transport the harness used: a deployment reached over
    plain HTTP in a test is usually behind TLS in production, and a cookie without Secure is
    sent on any plain-HTTP request to the site (ASVS 3.4.1). ``https`` only says what was seen.
    """
    problems = []
    if not cookie.httponly:
        problems.append("HttpOnly missing: scripts can read the session id")
    if not cookie.secure:
        problems.append(
            "Secure missing: the browser would send it over plain HTTP"
            if https
            else "Secure missing (seen over plain HTTP, where the harness reached the target): "
            "the browser sends it on any unencrypted request to the site"
        )
    samesite = cookie.samesite
    if samesite is None:
        problems.append("SameSite missing (older browsers then send it cross-site)")
    elif samesite not in ("Lax", "Strict"):
        problems.append(f"SameSite={samesite}: sent on cross-site requests")
    if cookie.name.startswith("__Host-") and (
        cookie.attributes.get("path") != "/" or "domain" in cookie.attributes
    ):
        problems.append("__Host- prefix without Path=/ and without Domain")
    return problems


def session_set_cookies(headers: Iterable[str], name: str) -> list[SetCookie]:
    """The Set-Cookie lines that set (not clear) the cookie ``name``."""
    parsed = [parse_set_cookie(h) for h in headers]
    return [c for c in parsed if c.name == name and not c.deletes]


def cookie_login_flows(auth: AuthSettings) -> list[tuple[str, str | None]]:
    """(flow, user) for every login the profile names: each sets the session cookie on its own
    code path, and one path's flags say nothing about another's (None: the flow's own user)."""
    flows: list[tuple[str, str | None]] = [(auth.flow, None)]
    local = [u.name for u in auth.users if u.password and u.name != auth.lockout_user]
    if local and auth.api_login_path and auth.flow != "api":
        flows.append(("api", local[0]))
    if local and auth.login_path and auth.flow != "form":
        flows.append(("form", local[0]))
    return flows
