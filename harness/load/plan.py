"""The journeys of a load run, worked out from the profile, the OpenAPI document and the target's
own answers: nothing here knows the reference app.

- ``read_paths``: what an anonymous visitor can read (the profile's pages and static files,
  ``load.read_paths`` and the document's parameterless GET operations that answer below 400
  without a credential): the read-heavy browse journey;
- ``api_paths``: the document's parameterless GET operations that answer 2xx to a logged-in
  user and not to an anonymous one: the authenticated API mix;
- ``login``: whether users can log in (the login journey, and the API mix's credential).

Every path is tried once before the run, so a route the journey cannot use (403 for a plain
user, 401 without a login) is left out rather than counted as the target's error.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from pydantic import BaseModel, Field

from harness.auth import AuthError, Session
from harness.auth import login as auth_login
from harness.operations import operations
from harness.profile import Profile, find_config, load_profile
from harness.scope import OutOfScope
from harness.target import Target
from harness.verdicts import NotApplicable

CA_ENV = "HARNESS_LOAD_CA"  # the stack's CA bundle, handed over by `harness load`
PLAN_ENV = "HARNESS_LOAD_PLAN"  # a plan the harness built before the run (JSON)
MAX_PATHS = 40  # a journey of more routes only spreads the samples thinner


class Plan(BaseModel):
    host: str
    profile: str | None = None
    read_paths: list[str] = Field(default_factory=list)
    api_paths: list[str] = Field(default_factory=list)
    can_login: bool = False
    login_path: str | None = None
    verify: bool | str = True
    safe: bool = False
    rate_cap: float | None = None
    wait_s: tuple[float, float] = (0.2, 1.0)
    weights: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


ANONYMOUS = ("none", "anonymous")


def profile_from_env() -> Profile | None:
    """The profile named by ``HARNESS_PROFILE``, else the default profile of the nearest
    ``harness.toml`` (as every ``harness`` command), else none: anonymous journeys.

    ``HARNESS_PROFILE=none`` asks for anonymous journeys even where a ``harness.toml`` is found.
    """
    named = os.environ.get("HARNESS_PROFILE", "").strip()
    if named.lower() in ANONYMOUS:
        return None
    if not named and not find_config().is_file():
        return None
    return load_profile(named or None)


def target_for(host: str, profile: Profile | None) -> Target:
    """A Target on ``host`` (the allow-list, safety and auth of the profile, or the defaults)."""
    base = profile or Profile()
    settings = base.target.model_copy(update={"base_url": host.rstrip("/")})
    bound = base.model_copy(update={"target": settings, "provider": base.provider})
    target = Target(bound, ca_bundle=os.environ.get(CA_ENV) or None)
    target.base_url  # noqa: B018 - raises OutOfScope now for a host off the allow-list
    return target


def _get_ops(target: Target) -> tuple[list[str], str | None]:
    try:
        document = target.openapi
    except NotApplicable as absent:
        return [], absent.reason
    except httpx.HTTPError as exc:
        return [], f"the document did not come: {type(exc).__name__}: {exc}"
    settings = target.profile.target
    skip = {settings.live_path, settings.ready_path, settings.metrics_path}
    # Optional query parameters (a sort order, a page size) leave the plain path a valid read:
    # a listing with one must not drop out of the journeys.
    paths = [
        op.path
        for op in operations(document)
        if op.method == "GET"
        and not op.path_params
        and not any(param.required for param in op.query_params)
        and op.path not in skip
    ]
    return paths, None


def _answers(client: httpx.Client, path: str, errors: list[str] | None = None) -> int:
    try:
        return client.get(path).status_code
    except (httpx.HTTPError, OutOfScope) as exc:
        if errors is not None:
            errors.append(f"GET {path}: {type(exc).__name__}: {exc}")
        return 0


def login_for_load(target: Target, address: str | None = None) -> Session:
    auth = target.profile.auth
    # A provider login (OAuth) needs the provider too, and a form login a page per login: the
    # target's own JSON login, where it has one, gives the same cookie session directly.
    flow = "api" if auth.flow in ("oauth-pkce", "form") and auth.api_login_path else None
    return auth_login(target, flow=flow, local_address=address)


def build(host: str, profile: Profile | None) -> Plan:
    """The plan against ``host`` (inside Locust: the profile of HARNESS_PROFILE, or none)."""
    return plan_for(target_for(host, profile), named=profile is not None)


def plan_for(target: Target, *, named: bool = True) -> Plan:
    """The plan against ``target``; ``named``: its profile is a real one (else the defaults,
    and no login). The harness builds it once before a run and hands it to every Locust
    process (PLAN_ENV), so workers start loading at once and all follow the same plan."""
    prof = target.profile
    load = prof.load
    settings = prof.target
    plan = Plan(
        host=target.base_url,
        profile=prof.name if named else None,
        verify=target.verify,
        safe=target.safety.safe,
        rate_cap=load.safe_max_rps if target.safety.safe else None,
        wait_s=(load.wait_min_s, max(load.wait_min_s, load.wait_max_s)),
        weights={"browse": load.browse_weight, "api": load.api_weight, "login": load.login_weight},
    )
    ops, why = _get_ops(target)
    if why:
        plan.notes.append(f"no API operations: {why}")
    candidates = list(dict.fromkeys([*settings.pages, *settings.static_paths, *load.read_paths]))
    if not candidates and not ops:
        candidates = ["/"]
    errors: list[str] = []
    with target.client() as anonymous:
        answers = {p: _answers(anonymous, p, errors) for p in dict.fromkeys([*candidates, *ops])}
    if errors:
        plan.notes.append(f"{len(errors)} paths did not answer, first: {errors[0]}")
    plan.read_paths = [p for p, status in answers.items() if 0 < status < 400][:MAX_PATHS]
    dropped = [
        f"{p} ({s or 'no answer'})"
        for p, s in answers.items()
        if p in candidates and not 0 < s < 400
    ]
    if dropped:
        plan.notes.append("left out of browsing: " + ", ".join(dropped))
    auth = prof.auth
    if not named or not auth.users or auth.flow == "none":
        plan.notes.append(
            "no login: no profile (HARNESS_PROFILE=none, or no harness.toml) or no users"
        )
        return plan
    try:
        session = login_for_load(target)
    except AuthError as exc:
        plan.notes.append(f"no login: {exc}")
        return plan
    plan.can_login = True
    plan.login_path = auth.api_login_path
    try:
        private = [p for p in ops if p not in plan.read_paths]
        plan.api_paths = [p for p in private if 200 <= _answers(session.client, p) < 300][
            :MAX_PATHS
        ]
    finally:
        session.client.close()
    if not plan.api_paths:
        plan.notes.append("no API operation answered 2xx to a logged-in user")
    return plan


def credentials(target: Target, address: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers (token flows, and the session cookie as a Cookie header) of a fresh login, for
    a Locust user to send; and the login's JSON answer."""
    session = login_for_load(target, address)
    try:
        headers = dict(session.credential_headers)
        if session.token_auth is not None:
            headers.update(session.token_auth.headers())
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.client.cookies.jar)
        if cookies:
            headers["Cookie"] = cookies
        return headers, session.login_json or {}
    finally:
        session.client.close()
