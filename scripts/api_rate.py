#!/usr/bin/env python3
"""Cases per second: the API suite's campaign next to the plain `schemathesis` CLI.

Both run against the same running target, with the same checks, the same number of examples
per operation and the same first user's credential, one after the other in this one run:

    harness up --profile jwt-api --detach
    python scripts/api_rate.py --profile jwt-api --state .harness/state.json [--examples 20]
    harness down

The CLI is started through the harness's process guard (the guarded proxy, a network
namespace where the machine allows one), like every network tool. Its case count is read from
its summary line; the campaign's is its request count. Only a figure for comparison: the two
do not send the same cases (the campaign adds boundary values and half as many negative cases,
and spreads operations over every user).

``--linearity`` instead runs the campaign over every fourth, every second and every one of the
document's paths and prints the wall time per operation of each: a campaign that grows
linearly with the operation count keeps that figure flat (the last column, against the
quarter's).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.api.model import CHECK_CONTROLS
from harness.api.run import run_campaign
from harness.api.sessions import user_sessions
from harness.auth import login
from harness.guard_process import ProcessGuard
from harness.loopback import source
from harness.profile import load_profile
from harness.profile.api_section import ApiSettings
from harness.stack import attach
from harness.target import Target

CLI = Path(sys.executable).with_name("schemathesis")


def _cli_cases(output: str) -> int:
    """The number of test cases the CLI's summary reports (0 when it names none)."""
    found = re.findall(r"(\d+)\s+(?:test cases|generated)", output)
    return max((int(n) for n in found), default=0)


def _linearity(target: Target, document: dict[str, Any], budget: ApiSettings) -> int:
    """The campaign over a growing share of the document: wall time per operation."""
    paths = list((document.get("paths") or {}).items())
    print(f"target: {target.base_url}, {budget.examples} examples per operation")
    print(f"{'paths':>6}{'operations':>12}{'requests':>10}{'seconds':>9}{'s/op':>7}{'vs 1/4':>8}")
    first: float | None = None
    for share in (4, 2, 1):
        # Every share-th path: each part holds the same mix of simple and rich operations.
        part = {**document, "paths": dict(paths[::share])}
        with user_sessions(target, 145, 146) as sessions:
            campaign = run_campaign(target, part, sessions, budget)
        ops = len(campaign.operations_checked)
        per_op = campaign.seconds / ops if ops else 0.0
        first = first or per_op
        ratio = per_op / first if first else 0.0
        row = f"{len(part['paths']):>6}{ops:>12}{campaign.requests:>10}"
        print(f"{row}{campaign.seconds:>9.1f}{per_op:>7.2f}{ratio:>8.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=None)
    parser.add_argument("--state", required=True, help="state file of a running stack")
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--linearity", action="store_true", help="time per operation vs count")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    stack = attach(args.state)
    target = Target(profile, stack, ca_bundle=stack.ca_bundle)
    document = target.openapi
    budget = ApiSettings(examples=args.examples, total_s=600, per_operation_s=60)
    if args.linearity:
        return _linearity(target, document, budget)

    with user_sessions(target, 145, 146) as sessions:
        campaign = run_campaign(target, document, sessions, budget)
    ours = campaign.requests / campaign.seconds if campaign.seconds else 0.0

    session = login(target, local_address=source(147, 1))
    headers = [f"{k}: {v}" for k, v in session.headers.items()]
    cookie = session.cookie_value if session.uses_cookie else None
    if cookie:
        headers.append(f"Cookie: {profile.auth.require_session_cookie()}={cookie}")
    session.close()
    auth = profile.auth
    excluded = [p for p in (auth.login_path, auth.api_login_path, auth.logout_path) if p]
    argv = [
        str(CLI),
        "run",
        target.url(str(profile.target.openapi_path)),
        "--checks",
        ",".join(CHECK_CONTROLS),
        "--max-examples",
        str(args.examples),
        "--phases",
        "examples,fuzzing,stateful",
        "--generation-deterministic",
        "--no-color",
        "--tls-verify",
        str(target.verify) if isinstance(target.verify, str) else str(target.verify).lower(),
    ]
    for header in headers:
        argv += ["-H", header]
    for path in excluded:
        argv += ["--exclude-path", path]
    url = urlsplit(target.base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        run = ProcessGuard(target.guard).run(
            argv, reach=[(url.hostname or "127.0.0.1", port)], deadline_s=600, cwd=Path(tmp)
        )
    cli_seconds = time.monotonic() - started
    cli_cases = _cli_cases(run.output)
    theirs = cli_cases / cli_seconds if cli_seconds else 0.0

    print(f"target: {target.base_url} ({profile.name}), {args.examples} examples per operation")
    print(f"{'':28}{'cases':>8}{'seconds':>10}{'cases/s':>10}")
    seconds = campaign.seconds
    print(f"{'harness api campaign':28}{campaign.requests:>8}{seconds:>10.1f}{ours:>10.1f}")
    print(f"{'schemathesis CLI':28}{cli_cases:>8}{cli_seconds:>10.1f}{theirs:>10.1f}")
    print(f"campaign: {campaign.coverage()}")
    print(f"CLI: exit {run.returncode} (1: it reported failures), containment {run.containment}")
    summary = [line for line in run.output.splitlines() if re.search(r"test cases|generated", line)]
    print("CLI summary: " + " | ".join(line.strip() for line in summary[-3:]))
    if not cli_cases:
        print("CLI output (no case count found):\n" + run.output[-3000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
