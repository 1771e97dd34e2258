"""Password guessing against the local login (AUTH-09), spread over source addresses.

An IP rate limiter also stops a guesser, but only from one address; a botnet has many. To
see whether the *account* is protected, the guesses come from several loopback addresses,
each staying well under any per-address limit, so only a per-account defence can stop them.

Once the account is locked, each client-chosen forwarding header (``X-Forwarded-For``,
``X-Real-IP``, ``Forwarded``) gets one wrong and one right password from one address of its
own, with a new value each: a lockout counted per value the client writes is no lockout, and
the right password logging in through it shows that with two requests per header.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

from pydantic import BaseModel, Field

from harness.auth.forms import parse_page
from harness.probes.forwarding import spoofed_header
from harness.profile import User
from harness.target import Target

STOPPED = (423, 429)


class Attempt(BaseModel):
    number: int
    source: str
    password: str  # "wrong" or "right": never the value
    status: int
    retry_after: str | None = None
    logged_in: bool = False
    header: str | None = None  # a client-chosen forwarding header sent with the attempt
    header_value: str | None = None


class BruteForce(BaseModel):
    user: str
    endpoint: str
    attempts: list[Attempt] = Field(default_factory=list)

    @property
    def stopped_at(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status in STOPPED), None)

    @property
    def final(self) -> Attempt | None:
        right = [a for a in self.attempts if a.password == "right" and a.header is None]
        return right[-1] if right else None

    @property
    def header_bypasses(self) -> list[Attempt]:
        """Right passwords that logged in, after the lockout, through a forwarding header."""
        return [a for a in self.attempts if a.header and a.password == "right" and a.logged_in]


def _attempt(
    target: Target, user: User, password: str, source: str, headers: dict[str, str] | None = None
) -> tuple[int, str | None, bool]:
    auth = target.profile.auth
    # Deliberately anonymous: each attempt is a fresh login, as an attacker's would be.
    with target.client(local_address=source) as client:
        client.headers.update(headers or {})
        if auth.api_login_path:
            response = client.post(
                auth.api_login_path,
                json={auth.username_field: user.name, auth.password_field: password},
            )
            return (response.status_code, response.headers.get("retry-after"), response.is_success)
        page = client.get(auth.login_path)
        form = next((f for f in parse_page(page.text).forms if f.has_password()), None)
        data = form.values() if form else {}
        data.update({auth.username_field: user.name, auth.password_field: password})
        response = client.post(auth.login_path, data=data)
        # Without a known cookie name, the me endpoint alone tells a login apart.
        has_cookie = not auth.session_cookie or any(
            c.name == auth.session_cookie for c in client.cookies.jar
        )
        logged_in = has_cookie and (
            client.get(auth.me_path).status_code == 200 if auth.me_path else True
        )
        return response.status_code, response.headers.get("retry-after"), logged_in


def guess(
    target: Target,
    user: User,
    *,
    attempts: int,
    sources: list[str],
    pause_s: float = 0.05,
    vary_headers: Sequence[tuple[str, str]] = (),
) -> BruteForce:
    """``attempts`` wrong passwords, round-robin over ``sources``; then the right one; then,
    if that was refused, one wrong and one right password per ``(header, source)`` of
    ``vary_headers``, each with a new client-chosen value of that header."""
    # A lockout attempt on a live target locks a real account: never in safe mode.
    target.safety.require_intrusive(f"a brute-force attempt of {attempts} wrong passwords")
    auth = target.profile.auth
    result = BruteForce(user=user.name, endpoint=auth.api_login_path or auth.login_path)
    for number in range(1, attempts + 1):
        source = sources[(number - 1) % len(sources)]
        wrong = "wrong-" + secrets.token_urlsafe(8)
        status, retry, ok = _attempt(target, user, wrong, source)
        result.attempts.append(
            Attempt(
                number=number,
                source=source,
                password="wrong",
                status=status,
                retry_after=retry,
                logged_in=ok,
            )
        )
        if status in STOPPED:
            break
        time.sleep(pause_s)
    source = sources[len(result.attempts) % len(sources)]
    status, retry, ok = _attempt(target, user, user.password, source)
    result.attempts.append(
        Attempt(
            number=len(result.attempts) + 1,
            source=source,
            password="right",
            status=status,
            retry_after=retry,
            logged_in=ok,
        )
    )
    if ok:
        return result  # no lockout to get around: the forwarding headers would show nothing
    for header, address in vary_headers:
        for password in ("wrong", "right"):
            extra = spoofed_header(header)
            secret = user.password if password == "right" else "wrong-" + secrets.token_hex(6)
            status, retry, ok = _attempt(target, user, secret, address, extra)
            result.attempts.append(
                Attempt(
                    number=len(result.attempts) + 1,
                    source=address,
                    password=password,
                    status=status,
                    retry_after=retry,
                    logged_in=ok,
                    header=header,
                    header_value=extra[header],
                )
            )
    return result
