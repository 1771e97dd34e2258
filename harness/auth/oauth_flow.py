"""The ``oauth-pkce`` adapter: start path -> provider consent form -> callback (no browser)."""

from __future__ import annotations

from harness.auth import oauth
from harness.auth.common import check_throttle
from harness.auth.session import AuthError, Session


def login(session: Session, next_path: str | None) -> None:
    auth = session.target.profile.auth
    client = session.client
    assert session.user is not None
    settings = auth.require_oauth()
    try:
        authorize = oauth.begin(client, settings, next_path, auth.next_param)
    except AuthError as exc:
        if exc.responses:
            check_throttle(exc.responses[-1])  # a 429 is waited out, not a failed login
        raise
    session.steps.append(authorize.start)
    consent = oauth.approve(client, authorize, session.user.name, settings, session.target.base_url)
    session.steps.extend(consent.responses)
    callback = check_throttle(oauth.complete(client, consent.callback_url))
    session.steps.append(callback)
    if callback.status_code >= 400:
        raise AuthError(
            f"OAuth callback {consent.callback_url} answered HTTP {callback.status_code}",
            session.steps,
        )
