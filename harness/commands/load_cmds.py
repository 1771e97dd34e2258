"""``harness load``: up the stack, one Locust run, PERF-02..04 verdicts with figures and charts.

The run is the performance suite's load controls (``suites/performance/test_load.py``), so the
verdicts, evidence, charts and reports are the same as in ``harness run``; the options here
change the run's shape through ``HARNESS_LOAD_*`` variables the suite reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.commands.run_cmds import (
    EXIT_HARNESS_ERROR,
    _err,
    _gate_exit,
    _load,
    _preflight_external,
    _progress,
    _run_id,
    _stack_up,
)
from harness.load.overrides import ENV as OVERRIDE_ENV
from harness.runner import HarnessError, run_pytest
from harness.safety import SafetyPolicy
from harness.stack.base import StackError

LOAD_CONTROLS = ("PERF-02", "PERF-03", "PERF-04")
# The gate of this command: the three load controls, nothing else of the catalog (the default
# policy would require every control, and this run selects three). A control that does not
# apply to the target (no database or cache named in the profile) does not fail it.
_IDS = ", ".join(f'"{c}"' for c in LOAD_CONTROLS)
POLICY = f"""# written by `harness load`
required = [{_IDS}]
fail_on = []

[not_applicable]
allow = [{_IDS}]
"""


@click.command("load")
@click.option("--profile", "profile_name", default=None, help="profile in harness.toml")
@click.option("--users", "-u", type=click.IntRange(min=1), default=None, help="[load.users]")
@click.option("--spawn-rate", "-r", type=float, default=None, help="[load.spawn_rate]")
@click.option("--duration", "-t", type=float, default=None, help="seconds [load.duration_s]")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=0),
    default=None,
    help="Locust worker processes, 0 for one process [load.workers]",
)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="report directory")
def load(
    profile_name: str | None,
    users: int | None,
    spawn_rate: float | None,
    duration: float | None,
    workers: int | None,
    out: Path | None,
) -> None:
    """Bring the stack up, run Locust headless against it and judge PERF-02..04.

    Exit code: 0 every load control passed, 1 one did not, 2 the harness itself failed.
    """
    profile = _load(profile_name)
    _preflight_external(profile)
    for line in SafetyPolicy.from_profile(profile).describe():
        _progress(line)
    if profile.safety_mode == "safe":
        _progress(f"load: safe mode, at most {profile.load.safe_max_rps:g} requests per second")
    run_id = _run_id()
    out = (out or Path.cwd() / "reports" / run_id).resolve()
    out.mkdir(parents=True, exist_ok=True)
    policy = out / "load-policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    env = {
        OVERRIDE_ENV[name]: str(value)
        for name, value in (
            ("users", users),
            ("spawn_rate", spawn_rate),
            ("duration_s", duration),
            ("workers", workers),
        )
        if value is not None
    }
    try:
        with _stack_up(profile) as (_stack, state):
            _progress(f"load: {', '.join(LOAD_CONTROLS)} -> {out}")
            suite_run = run_pytest(
                profile=profile.name,
                state_path=state,
                suites=["performance"],
                out=out,
                workers=1,
                controls=list(LOAD_CONTROLS),
                echo=(lambda line: click.echo(line, err=True)),
                extra_args=["--harness-run-id", run_id, "--harness-policy", str(policy)],
                env=env,
            )
    except (StackError, HarnessError) as exc:
        _err(str(exc))
        sys.exit(EXIT_HARNESS_ERROR)
    code = _gate_exit(suite_run.results)
    click.echo(f"load: Locust's own reports (CSV, JSON, HTML) in {out / 'load'}")
    click.echo(f"report: {out / 'report.html'}")
    sys.exit(code)


COMMANDS = [load]
