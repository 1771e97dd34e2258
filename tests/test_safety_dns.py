"""The whole safe-mode run, under a resolver the test controls: no name outside the allow-list
is looked up by any process of the run.

The suites' pytest, and everything it starts (Chromium for SEC-06, wapiti for SEC-14, the
scanners' helpers), run in a private mount namespace whose /etc/resolv.conf names only
:class:`dns_recorder.DnsRecorder`. The recording target's page references
``https://cdn.example.com/x.js``: the browser guard must block it before a lookup, and the run
must report it as a finding. A query the test itself makes through the same runner proves the
recorder sees what the run would have sent.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from dns_recorder import can_run, recorder, run_with_resolver
from test_safety_live import REPO, RESET, _on_path, scan_results

from harness.safety import NEEDS_INTRUSIVE

SUITES = [
    "suites/owasp/test_xss.py",  # SEC-06: Chromium loads the page with the third-party script
    "suites/owasp/test_dast.py",  # SEC-14: wapiti, passive in safe mode
    "suites/owasp/test_input.py",
    "suites/owasp/test_injection.py",
    "suites/owasp/test_sri.py",
    "suites/owasp/test_rate_limit.py",
]
OFF_LIST = "off-list.invalid-harness.example"
DAST_BUDGET_S = 20
__all__ = ["_on_path"]  # the suites' child pytest imports this tree
# The budget stops the scan; what is beyond it is start-up and report writing, which a loaded
# machine stretches (35 s seen at a load average of 10). Three budgets catch a scan that ignored it.
DAST_WALL_S = DAST_BUDGET_S * 3


def test_safe_run_makes_no_off_list_lookup_and_reports_what_it_held_back(
    tmp_path: Path,
) -> None:
    why = can_run()
    if why:
        pytest.skip(f"DNS recorder: {why}")
    with recorder() as dns:
        # Positive control: the same runner, an off-list name, and the recorder sees it.
        probe = run_with_resolver(
            dns,
            [
                sys.executable,
                "-c",
                f"import socket\ntry: socket.getaddrinfo({OFF_LIST!r}, 80)\nexcept OSError: pass",
            ],
            tmp_path,
            timeout=30,
        )
        assert probe.returncode == 0, probe.stderr
        assert OFF_LIST in dns.queries, f"the recorder saw nothing: {dns.queries}"
        dns.queries.clear()

        def runner(argv: list[str], env: dict[str, str], timeout: float) -> Any:
            return run_with_resolver(dns, argv, tmp_path, timeout, env=env, cwd=REPO)

        started = time.monotonic()
        record, controls, log, results = scan_results(
            tmp_path, "safe", SUITES, runner, f"[profiles.live.dast]\nbudget_s = {DAST_BUDGET_S}\n"
        )
        elapsed = time.monotonic() - started
        queries = list(dns.queries)

    # Nothing left the allow-list: the target is an address, so no name at all may be looked up
    # (localhost answers from /etc/hosts, never from the resolver).
    off_list = sorted({q for q in queries if q != "localhost"})
    assert off_list == [], f"names outside the allow-list were looked up: {off_list}"
    assert record.requests, "the scan never reached the target"
    assert record.writes() == [], f"state-changing requests reached the target: {record.writes()}"
    assert not record.saw(RESET)

    # The run says its mode and what it held back.
    run = results["run"]
    assert run["safety"][0] == "safety = safe", run["safety"]
    assert any("SEC-03" in line and NEEDS_INTRUSIVE in line for line in run["skipped"]), run
    assert controls["SEC-06"]["status"] == "not_evaluated", log[-2000:]
    # The blocked third-party script is a finding, not a silent drop.
    blocked = [f for f in results["findings"] if "cdn.example.com" in json.dumps(f)]
    assert blocked, [f.get("title") for f in results["findings"]]
    # DAST: passive, and inside its budget.
    dast = controls["SEC-14"]
    assert dast["status"] != "error", dast
    assert float(dast.get("duration_s") or 0) <= DAST_WALL_S, (dast.get("duration_s"), elapsed)
