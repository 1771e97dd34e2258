"""SEC-04, SEC-05, SEC-12 and AUTH-10/11 on a server-rendered app with no OpenAPI document.

The controls take their operations from a crawl (``Target.operations``): the run must show
them found and exercised (positive control), and SEC-12 must fail on the app's seeded
weakness, a form that takes cross-site posts without a token.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from formshop_app import serving

from harness.runner import load_results, run_pytest

CONTROLS = ["SEC-04", "SEC-05", "SEC-12", "AUTH-10", "AUTH-11"]
PROFILE = """
[profiles.formshop]
provider = "external"
safety = "intrusive"  # a throwaway app started by the test

[profiles.formshop.target]
base_url = "{base}"
pages = ["/"]
live_path = "/"
ready_path = "/"
metrics_path = false

[profiles.formshop.auth]
flow = "form"
login_path = "/login"
session_cookie = "sid"
logout_path = "/logout"
users = [{{ name = "alice", password = "pw" }}, {{ name = "bob", password = "pw" }}]

[profiles.formshop.logs]
source = "none"
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("formshop")
    with serving() as base:
        config = work / "harness.toml"
        config.write_text(PROFILE.format(base=base), encoding="utf-8")
        run = run_pytest(
            profile="formshop",
            state_path=None,
            suites=["owasp"],
            out=work / "out",
            workers=1,
            controls=CONTROLS,
            env={"HARNESS_CONFIG": str(config)},
        )
    return {"results": load_results(run.results), "out": run.out}


def _control(results: dict, control: str) -> dict:
    return next(c for c in results["results"]["controls"] if c["id"] == control)


def _evidence(out: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*") if p.is_file()
    )


def test_crawled_operations_are_found_and_exercised(results: dict) -> None:
    for control in ("SEC-04", "SEC-05", "AUTH-11"):
        verdict = _control(results, control)
        assert verdict["status"] == "pass", (control, verdict.get("reason"))
    text = _evidence(results["out"])
    assert "target.openapi_path to the document" in text  # /openapi.json answered HTML
    assert "POST /items" in text and "GET /search" in text and "crawled" in text


def test_a_form_without_a_token_fails_csrf(results: dict) -> None:
    verdict = _control(results, "SEC-12")
    assert verdict["status"] == "fail", verdict.get("reason")
    assert "POST /notes" in (verdict.get("reason") or "")
    assert "POST /items" not in (verdict.get("reason") or "")


def test_object_access_says_why_it_could_not_judge(results: dict) -> None:
    verdict = _control(results, "AUTH-10")
    assert verdict["status"] in ("not_evaluated", "not_applicable"), verdict
    assert verdict.get("reason")
