"""API-06: bearer tokens are signed, verified and expire."""

from __future__ import annotations

import pytest

from harness.api.bearer import parse, probe
from harness.api.model import Campaign
from harness.api.verdict import record
from harness.loopback import source
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

SLOT = 142


def _bearer(headers: dict[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() == "authorization" and value.lower().startswith("bearer "):
            return value.split(" ", 1)[1].strip()
    return None


@pytest.mark.control("API-06")
def test_bearer_tokens_are_sound(target, login, evidence, api_campaign: Campaign) -> None:
    # The fuzzing's ignored_auth check: an operation that answered alike without credentials.
    ignored = api_campaign.for_control("API-06")
    record(evidence, ignored)
    auth = target.profile.auth
    session = login(local_address=source(SLOT, 1))
    token = _bearer(session.headers)
    if token is None or parse(token) is None:
        if ignored:
            pytest.fail(f"{len(ignored)} operation(s) ignore their credentials", pytrace=False)
        raise NotApplicable(f"auth.flow {auth.flow!r} authenticates with no bearer JWT")
    evidence.secret(token)
    path = auth.require_me_path()

    with target.client(local_address=source(SLOT, 2)) as client:

        def send(candidate: str | None) -> tuple[int, str]:
            headers = {"Authorization": f"Bearer {candidate}"} if candidate else {}
            response = client.get(path, headers=headers)
            return response.status_code, response.text[:200]

        report = probe(token, send)
    evidence.json("bearer token probe", report.model_dump(mode="json"))
    if not report.judgeable:
        raise NotEvaluated(
            f"positive control: GET {path} answered {report.baseline_status} with the real "
            f"token and {report.anonymous_status} without one (expected 2xx and 401/403)"
        )
    problems = report.weaknesses + [f"{p.operation}: {p.title}" for p in ignored]
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
    evidence.text(
        "verdict",
        f"alg none, an altered signature and {len(report.attempts)} forgeries refused; "
        + "; ".join(report.notes),
    )
