"""The ``form`` adapter: the HTML login form with its hidden CSRF field.

Success is what ``auth.login.success`` says (every condition must hold); without conditions,
a redirect away from the login page, as most server-rendered apps answer.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from harness.auth.common import check_throttle
from harness.auth.forms import parse_page
from harness.auth.oauth import REDIRECTS
from harness.auth.session import AuthError, Session
from harness.profile import LoginCondition


def login(session: Session) -> None:
    auth = session.target.profile.auth
    assert session.user is not None
    page = check_throttle(session.client.get(auth.login_path))
    session.steps.append(page)
    info = parse_page(page.text)
    form = next((f for f in info.forms if f.has_password()), None)
    if form is None:
        raise AuthError(
            f"no login form with a password field on {auth.login_path} (HTTP {page.status_code})",
            session.steps,
        )
    data = form.values()
    data[auth.username_field] = session.user.name
    data[auth.password_field] = session.user.password
    token = data.get(auth.csrf_field) or info.meta.get(auth.csrf_field.replace("_", "-"))
    if token:
        data[auth.csrf_field] = token
    action = urljoin(str(page.request.url), form.action or auth.login_path)
    answer = check_throttle(session.client.post(action, data=data))
    session.steps.append(answer)
    conditions = auth.login.success
    if not conditions:
        if not _redirects_away(answer, action):
            raise _refused(session, action, answer, "no redirect away from the login page")
        return
    for condition in conditions:
        problem = _unmet(session, condition, answer, action)
        if problem:
            raise _refused(session, action, answer, problem)


def _redirects_away(answer: httpx.Response, action: str) -> bool:
    location = answer.headers.get("location", "")
    back_to_login = urlsplit(urljoin(action, location)).path == urlsplit(action).path
    return answer.status_code in REDIRECTS and not back_to_login


def _sets_cookie(answer: httpx.Response, name: str) -> bool:
    for header in answer.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        value = rest.split(";", 1)[0].strip().strip('"')
        if key.strip() == name and value and "max-age=0" not in header.lower().replace(" ", ""):
            return True
    return False


def _unmet(
    session: Session, condition: LoginCondition, answer: httpx.Response, action: str
) -> str | None:
    """Why ``condition`` does not hold for the login answer; None when it holds."""
    if condition.redirect is not None:
        if _redirects_away(answer, action) != condition.redirect:
            return "no redirect away from the login page" if condition.redirect else "a redirect"
    elif condition.cookie is not None:
        if not _sets_cookie(answer, condition.cookie):
            return f"no {condition.cookie!r} cookie set"
    elif condition.status is not None:
        if answer.status_code != condition.status:
            return f"not HTTP {condition.status}"
    elif condition.text is not None:
        if condition.text not in answer.text:
            return f"no {condition.text!r} in the answer"
    elif condition.identity:
        me_path = session.target.profile.auth.me_path
        if not me_path:
            return "the identity condition needs auth.me_path"
        me = check_throttle(session.client.get(me_path))
        session.steps.append(me)
        if me.status_code != 200:
            return f"GET {me_path} answered HTTP {me.status_code}"
    return None


def _refused(session: Session, action: str, answer: httpx.Response, problem: str) -> AuthError:
    location = answer.headers.get("location", "")
    return AuthError(
        f"form login as {session.user_name!r} at {action} answered HTTP {answer.status_code} "
        f"(Location {location or '-'}; {problem}): credentials refused?",
        session.steps,
    )
