"""Third-party smoke: the full harness, with a profile alone, against apps nobody here wrote.

Datasette and httpbin (from PyPI, in ``.venv-thirdparty``, never in the harness's own venv) are
started on a free loopback port with a throwaway directory, and ``harness run`` runs every
default suite against each with its profile from ``examples/thirdparty.toml`` (extended by
``SMOKE_PROFILE``: a shorter API fuzzing budget, see below). The run must
end with a verdict and a readable reason for every control, no ``error`` raised by the
harness's own code. Wall times are figures in the "harness benchmark" summary, not assertions
(a loaded CI machine takes five times as long); a hard timeout only catches a hang;
``scripts/thirdparty`` runs the same apps by hand and prints a table. See docs/thirdparty.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from thirdparty_apps import APPS, REPO, missing_venv, running

from harness.verdicts import Verdict

pytestmark = pytest.mark.thirdparty

# About 50 s per app on an idle 2-core machine, 250 s at a load average of 10: the timeout
# is there for a hang, never to judge speed.
HARD_TIMEOUT_S = 900.0

Record = Callable[[str, object], None]

# The smoke runs a profile that extends the example one and shortens one budget: the API
# fuzzing campaign's (defaults: 300 s in all, at most 5 s per operation), which took 75-90 s of
# a 93-200 s httpbin run. Within 10 s every one of httpbin's 53 safe operations is still fuzzed
# (its boundary cases, then as many examples as its share allows), API-01/API-02 judge the
# answers, and the verdict says how many operations stopped at their budget. The example keeps
# the defaults: they are what a user copying it should start from, and `scripts/thirdparty`
# runs it as written. The Locust run of PERF-02 (load.duration_s, 12 s) is left as it is: at
# safe mode's 5 requests per second a 4 s run is 20 requests, whose p95 is their slowest one,
# so PERF-02 would judge httpbin by whether a single /drip (2 s by design) was among them.
SMOKE_PROFILE = """
[profiles.smoke-{name}]
extends = "{name}"

[profiles.smoke-{name}.api]
total_s = 10
per_operation_s = 1
"""


def _smoke_profile(name: str, config: Path) -> str:
    """Add the smoke's profile over ``name`` to the rendered ``config``; its name."""
    with config.open("a", encoding="utf-8") as out:
        out.write(SMOKE_PROFILE.format(name=name))
    return f"smoke-{name}"


def _run_harness(
    name: str, config: Path, out: Path
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "HARNESS_CONFIG": str(config), "HARNESS_PROFILE": name}
    began = time.monotonic()
    try:
        done = subprocess.run(
            # One worker: CI runs this beside the other tests on two cores.
            [sys.executable, "-m", "harness", "run", "--profile", name, "--out", str(out)]
            + ["-n", "1"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=HARD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"harness run --profile {name} hung: no result after {exc.timeout:.0f} s")
    return done, time.monotonic() - began


@pytest.mark.parametrize("name", sorted(APPS))
def test_full_run_against_a_third_party_app(
    name: str, tmp_path: Path, record_property: Record
) -> None:
    reason = missing_venv()
    if reason:
        pytest.skip(f"third-party smoke not run: {reason}")
    workdir = tmp_path / "app"
    workdir.mkdir()
    out = tmp_path / "out"
    with running(APPS[name], workdir) as (_port, config):
        done, wall = _run_harness(_smoke_profile(name, config), config, out)

    tail = (done.stdout + done.stderr)[-3000:]
    # 0: the gate passed, 1: it failed (these apps have findings); 2: the harness broke.
    assert done.returncode in (0, 1), f"harness run exited {done.returncode}:\n{tail}"
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    controls = results["controls"]
    counts = Counter(c["status"] for c in controls)
    harness_errors = [
        f"{c['id']}: {c.get('reason')}"
        for c in controls
        if c["status"] == Verdict.ERROR.value and "harness error" in (c.get("reason") or "")
    ]
    figures = ", ".join(f"{v} {counts[v]}" for v in sorted(counts))
    # Shown in the "harness benchmark" section of pytest's summary (xdist workers included).
    record_property(
        "benchmark",
        f"thirdparty {name}: wall {wall:.1f} s, {len(controls)} controls ({figures}), "
        f"harness errors {len(harness_errors)}",
    )

    assert not harness_errors, "the harness's own code raised:\n" + "\n".join(harness_errors)
    known = {v.value for v in Verdict}
    unreadable = [
        f"{c['id']}: {c['status']} {c.get('reason')!r}"
        for c in controls
        if c["status"] not in known
        or (c["status"] != Verdict.PASS.value and not (c.get("reason") or "").strip())
    ]
    assert not unreadable, "controls without a verdict or a reason:\n" + "\n".join(unreadable)
    # The run judged something: an app this size always gives a few pass or fail verdicts.
    assert counts[Verdict.PASS.value] + counts[Verdict.FAIL.value] >= 3, figures
    # With its shortened budget the fuzzing campaign still ran: where API-01 applies (an app
    # with an OpenAPI document), it fuzzed operations and judged answers to real requests.
    api01 = next(c for c in controls if c["id"] == "API-01")
    if api01["status"] != Verdict.NOT_APPLICABLE.value:
        fuzzed = {f["name"]: f["value"] for f in results["figures"] if f["control"] == "API-01"}
        assert fuzzed.get("operations fuzzed", 0) > 0 and fuzzed.get("requests sent", 0) > 0, (
            f"API-01 {api01['status']}: {api01.get('reason')!r}, figures {fuzzed}"
        )
