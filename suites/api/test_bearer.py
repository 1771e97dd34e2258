"""API-06: bearer tokens are signed, verified and expire."""

from __future__ import annotations

import pytest

from harness.api.bearer import parse, probe
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
def test_bearer_tokens_are_sound(target, login, evidence) -> None:
    auth = target.profile.auth
    session = login(local_address=source(SLOT, 1))
    token = _bearer(session.headers)
    if token is None or parse(token) is None:
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
    if report.weaknesses:
        pytest.fail("; ".join(report.weaknesses), pytrace=False)
    evidence.text(
        "verdict",
        f"alg none, an altered signature and {len(report.attempts)} forgeries refused; "
        + "; ".join(report.notes),
    )
