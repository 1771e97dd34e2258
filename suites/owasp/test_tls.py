"""SEC-11: TLS 1.2+ only, Mozilla intermediate ciphers, a chain valid against the stack's CA,
and the plain-HTTP port redirecting to HTTPS."""

from __future__ import annotations

import pytest

from harness.probes.bounded import as_response, fetch
from harness.probes.tls import mozilla_intermediate, scan
from harness.scope import scoped_client
from harness.stack.base import HasState
from harness.verdicts import NotApplicable, NotEvaluated

pytestmark = pytest.mark.stack

HTTP_URL_NAMES = ("app_http", "nginx_http", "http")


def _http_url(target) -> str | None:
    """The plain-HTTP address of the TLS front (stack URL names, then the provider's ports)."""
    stack = target.stack
    if stack is None:
        return None
    for name in HTTP_URL_NAMES:
        try:
            return stack.url(name)
        except Exception:  # noqa: BLE001, S112 - providers raise KeyError or their own error
            continue
    # A provider with a state file keeps its port map there; nginx's http port is "nginx.http".
    ports = stack.state.ports if isinstance(stack, HasState) else {}
    for key, port in ports.items():
        if key.endswith(".http") and key.split(".")[0] in ("nginx", "proxy", "front"):
            return f"http://127.0.0.1:{port}"
    return None


@pytest.mark.control("SEC-11")
def test_tls_configuration_is_modern(target, evidence):
    if not target.base_url.startswith("https://"):
        raise NotApplicable(f"the target is not served over https ({target.base_url})")
    ca = target.verify if isinstance(target.verify, str) else None
    try:
        report = scan(target.base_url, ca, guard=target.guard)
    except Exception as exc:  # noqa: BLE001 - any sslyze failure means "could not evaluate"
        raise NotEvaluated(f"sslyze could not scan {target.base_url}: {exc}") from exc
    evidence.json("sslyze result", report.model_dump(mode="json"))
    if not report.accepted:
        raise NotEvaluated(f"sslyze completed no cipher-suite scan: {report.errors}")
    problems = report.problems(mozilla_intermediate())
    if report.chain_trusted is None:
        problems.append(
            "the certificate chain could not be validated (sslyze "
            f"certificate_info failed: {report.errors})"
        )
    if ca is None:
        evidence.text(
            "chain",
            "no CA bundle configured (target.verify_tls is a boolean): "
            "the chain was judged against sslyze's bundled trust stores",
        )
    for version in ("tls_1_2", "tls_1_3"):
        evidence.figure(
            f"{version} cipher suites accepted", len(report.accepted.get(version, [])), ""
        )
    http_url = _http_url(target)
    if http_url is None:
        evidence.text("http redirect", "the stack exposes no plain-HTTP URL: not checked")
    else:
        with scoped_client(target.guard, verify=target.verify) as client:
            answer = fetch(client, "GET", http_url + "/", total_s=5)
        evidence.http(as_response(answer), title="plain HTTP request")
        location = answer.header("location") or ""
        if not (300 <= answer.status < 400 and location.startswith("https://")):
            problems.append(
                f"{http_url}/ answers HTTP {answer.status} "
                f"(Location {location!r}) instead of redirecting to https"
            )
    assert not problems, "TLS problems:\n" + "\n".join(problems)
