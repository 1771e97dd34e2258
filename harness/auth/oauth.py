"""The OAuth 2.0 authorization-code flow driven over HTTP, one step at a time.

Each step is its own function so the AUTH-07/AUTH-08 probes can stop in the middle (read the
authorize redirect, tamper with the callback) while ``login`` runs them back to back. Every
hop goes through the target's scoped client, so a provider outside the scope is refused.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from harness.auth.forms import HtmlForm, parse_page
from harness.auth.session import AuthError
from harness.profile import OAuthSettings

MAX_HOPS = 6
REDIRECTS = (301, 302, 303, 307, 308)


class AuthorizeRequest(BaseModel):
    """The app's redirect to the provider's authorize endpoint, as the browser sees it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    url: str
    params: dict[str, str]
    start: httpx.Response

    @property
    def state(self) -> str | None:
        return self.params.get("state")


class Consent(BaseModel):
    """The provider answered the consent form: ``callback_url`` goes back to the app."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    callback_url: str
    responses: list[httpx.Response]

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.callback_url).query, keep_blank_values=True))


def _location(response: httpx.Response) -> str:
    location = response.headers.get("location")
    if response.status_code not in REDIRECTS or not location:
        raise AuthError(
            f"expected a redirect from {response.request.method} {response.request.url}, "
            f"got HTTP {response.status_code}",
            [response],
        )
    return urljoin(str(response.request.url), location)


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


def _is_callback(url: str, app_base: str, settings: OAuthSettings) -> bool:
    # The public URL the app registered may spell the host differently from the base URL.
    return _same_origin(url, app_base) or urlsplit(url).path == settings.callback_path


def begin(
    client: httpx.Client,
    settings: OAuthSettings,
    next_path: str | None = None,
    next_param: str = "next",
) -> AuthorizeRequest:
    """GET the app's OAuth start path; return the authorize redirect it answers with."""
    params = {next_param: next_path} if next_path else None
    start = client.get(settings.start_path, params=params)
    url = _location(start)
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return AuthorizeRequest(url=url, params=query, start=start)


def consent_form(page: httpx.Response, user_field: str) -> HtmlForm:
    forms = parse_page(page.text).forms
    for form in forms:
        if form.field(user_field) is not None and form.method == "post":
            return form
    posts = [f for f in forms if f.method == "post"]
    if not posts:
        raise AuthError(f"no consent form on {page.request.url} (HTTP {page.status_code})", [page])
    return posts[0]


def approve(
    client: httpx.Client,
    authorize: AuthorizeRequest,
    user: str,
    settings: OAuthSettings,
    app_base: str,
) -> Consent:
    """Open the provider's authorize page, submit its consent form as ``user``.

    Follows the provider's own redirects (it may show a login page first) until one leaves
    for the app's origin: that is the callback carrying ``code`` and ``state``.
    """
    responses: list[httpx.Response] = []
    url = authorize.url
    page = client.get(url)
    responses.append(page)
    for _ in range(MAX_HOPS):
        if page.status_code not in REDIRECTS:
            break
        url = _location(page)
        if _is_callback(url, app_base, settings):
            return Consent(callback_url=url, responses=responses)
        page = client.get(url)
        responses.append(page)
    if page.status_code != 200:
        raise AuthError(
            f"provider authorize page {url} answered HTTP {page.status_code}", responses
        )
    form = consent_form(page, settings.consent_user_field)
    data = form.values()
    data[settings.consent_user_field] = user
    button = form.approve_button()
    if button is not None and button.name:
        data[button.name] = button.value
    action = urljoin(str(page.request.url), form.action or str(page.request.url))
    answer = client.post(action, data=data)
    responses.append(answer)
    for _ in range(MAX_HOPS):
        target = _location(answer)
        if _is_callback(target, app_base, settings):
            return Consent(callback_url=target, responses=responses)
        answer = client.get(target)
        responses.append(answer)
    raise AuthError(f"the provider never redirected back to {app_base}", responses)


def complete(client: httpx.Client, callback_url: str) -> httpx.Response:
    """Deliver the provider's answer to the app's callback (the app sets its session here)."""
    return client.get(callback_url)
