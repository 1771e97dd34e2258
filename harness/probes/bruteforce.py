"""Password guessing against the local login (AUTH-09), spread over source addresses.

An IP rate limiter also stops a guesser, but only from one address; a botnet has many. To
see whether the *account* is protected, the guesses come from several loopback addresses,
each staying well under any per-address limit, so only a per-account defence can stop them.
"""

from __future__ import annotations

import secrets
import time

from pydantic import BaseModel, Field

from harness.auth.forms import parse_page
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


class BruteForce(BaseModel):
    user: str
    endpoint: str
    attempts: list[Attempt] = Field(default_factory=list)

    @property
    def stopped_at(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status in STOPPED), None)

    @property
    def final(self) -> Attempt | None:
        right = [a for a in self.attempts if a.password == "right"]
        return right[-1] if right else None


def _attempt(
    target: Target, user: User, password: str, source: str
) -> tuple[int, str | None, bool]:
    auth = target.profile.auth
    # Deliberately anonymous: each attempt is a fresh login, as an attacker's would be.
    with target.client(local_address=source) as client:
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
    target: Target, user: User, *, attempts: int, sources: list[str], pause_s: float = 0.05
) -> BruteForce:
    """``attempts`` wrong passwords, round-robin over ``sources``; then the right one."""
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
    return result
