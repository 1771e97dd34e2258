"""Unit tests for harness.probes.errors (disclosure detection)."""

from __future__ import annotations

from harness.probes.bounded import Fetched
from harness.probes.errors import disclosures


def _r(body: str = "", status: int = 500, **headers: str) -> Fetched:
    return Fetched(method="GET", url="/x", status=status, headers=headers, body=body)


def _rules(response: Fetched) -> set[str]:
    return {d.rule for d in disclosures(response)}


def test_python_traceback_and_sql_error():
    body = (
        '{"message": "Traceback (most recent call last):\\n  File \\"/srv/app/db.py\\", '
        'line 3, in run\\npsycopg.errors.SyntaxError: syntax error at or near \\"x\\""}'
    )
    assert {"python traceback", "SQL text or driver error"} <= _rules(_r(body))


def test_clean_json_error_discloses_nothing():
    assert (
        _rules(
            _r(
                '{"error": {"code": "internal_error", "message": "Internal server error",'
                ' "correlation_id": "abc"}}'
            )
        )
        == set()
    )


def test_banners_with_versions_or_frameworks():
    assert _rules(_r(status=200, server="")) == set()  # an empty header names nothing
    assert _rules(_r(status=200, server="nginx/1.22.1")) == {"version banner"}
    assert _rules(_r(status=200, **{"x-powered-by": "FastAPI"})) == {"framework banner"}
    assert _rules(_r(status=200, server="uvicorn Python/3.11")) == {"version banner"}


def test_bare_product_name_is_a_low_severity_banner():
    # ZAP 10036 reports "Server: nginx" too: the product says which advisories to try.
    found = disclosures(_r(status=200, server="nginx"))
    assert [(d.rule, d.severity) for d in found] == [("product banner", "low")]
    versioned = disclosures(_r(status=200, server="nginx/1.22.1"))
    assert [(d.rule, d.severity) for d in versioned] == [("version banner", "medium")]
    # The profile may declare the target's own name (target.own_server_names): exactly that.
    assert disclosures(_r(status=200, server="jwtapi"), ["jwtapi"]) == []
    assert _rules(_r(status=200, server="jwtapi/2.1")) == {"version banner"}
    powered = disclosures(_r(status=200, **{"x-powered-by": "Express"}))
    assert [(d.rule, d.severity) for d in powered] == [("framework banner", "low")]


def test_debug_pages():
    assert "debug page" in _rules(_r("<title>Werkzeug Debugger</title>"))
    assert "debug page" in _rules(_r("Django Version: 4.2"))


def test_a_banner_on_every_page_is_folded_into_one_entry():
    from harness.probes.errors import describe_folded, folded

    pages = [
        Fetched(method="GET", url=f"/p{i}", status=200, headers={"server": "uvicorn"}, body="")
        for i in range(5)
    ]
    trace = _r("Traceback (most recent call last):")
    found = [d for r in [*pages, trace] for d in disclosures(r)]
    entries = folded(found)
    assert [(d.rule, n) for d, n in entries] == [("product banner", 5), ("python traceback", 1)]
    assert describe_folded(entries[0]).endswith("'uvicorn' (and 4 more responses)")
