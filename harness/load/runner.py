"""Run Locust headless on the ``load/`` files against a target, and gather every figure.

Locust runs as its own process (it patches the standard library with gevent), through the
process guard (:mod:`harness.guard_process`): on a target the harness did not start it gets a
network namespace where the machine allows one, so the load generator can reach the target and
nothing else; on the harness's own loopback stack it runs beside it, still held by the plan's
allow-list check and by never following a redirect. With ``workers`` > 0 Locust runs as one
master and that many worker processes (``--processes``), on this machine's loopback.

While it runs, a thread prints progress from Locust's history CSV, another samples the
database's connections (PERF-03); /metrics is read before and after (PERF-04).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from harness.guard_process import ProcessGuard
from harness.load import cache_metrics
from harness.load.dbconn import DbFigures, DbSampler
from harness.load.figures import HistoryPoint, LoadFigures, read_history
from harness.load.plan import CA_ENV, PLAN_ENV, plan_for
from harness.load.slo import SloVerdict
from harness.profile import find_config
from harness.stack.managed import free_ports
from harness.target import Target
from harness.verdicts import NotApplicable

SUMMARY_ENV = "HARNESS_LOAD_SUMMARY"  # same name as harness.load.hooks (which imports Locust)
REPO_LOAD = Path(__file__).resolve().parent.parent.parent / "load"
PACKAGED = Path(__file__).resolve().parent / "locustfile.py"
PROGRESS_S = 3.0


class LoadOptions(BaseModel):
    users: int
    spawn_rate: float
    duration_s: float
    workers: int

    @classmethod
    def from_target(cls, target: Target, **overrides: float | int | None) -> LoadOptions:
        load = target.profile.load
        values = {
            "users": load.users,
            "spawn_rate": load.spawn_rate,
            "duration_s": load.duration_s,
            "workers": load.workers,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


class LoadRun(BaseModel):
    argv: list[str]
    returncode: int | None
    containment: str
    timed_out: bool = False
    output_tail: str = ""
    out_dir: Path
    options: LoadOptions
    figures: LoadFigures | None = None
    verdict: SloVerdict | None = None
    history: list[HistoryPoint] = Field(default_factory=list)
    db: DbFigures | None = None
    cache: cache_metrics.CacheFigures | None = None
    notes: list[str] = Field(default_factory=list)

    def problem(self) -> str | None:
        """Why the run gave no figures (the harness's or the tool's failure), or None."""
        if self.figures is not None:
            return None
        why = "stopped at its deadline" if self.timed_out else f"exit code {self.returncode}"
        tail = self.output_tail.strip().splitlines()[-3:]
        return f"Locust gave no figures ({why}): " + " | ".join(tail)


def locustfiles() -> Path:
    """The checkout's ``load/`` folder, else the copy shipped in the harness package."""
    return REPO_LOAD if REPO_LOAD.is_dir() else PACKAGED


# Locust's own reports beside ours, and a short stop so the deadline stays predictable.
FIXED_ARGS = ("--only-summary", "--stop-timeout")


def _argv(url: str, out: Path, options: LoadOptions) -> list[str]:
    argv = [
        sys.executable, "-m", "locust", "-f", str(locustfiles()), "--headless",
        "--host", url, "-u", str(options.users), "-r", f"{options.spawn_rate:g}",
        "-t", f"{max(1, round(options.duration_s))}s", "--stop-timeout", "3",
        "--csv", str(out / "locust"), "--html", str(out / "locust.html"),
        "--json-file", str(out / "locust"), "--only-summary",
    ]  # fmt: skip
    if options.workers > 0:
        argv += ["--processes", str(options.workers), *master_port_args()]
    return argv


def master_port_args() -> list[str]:
    """A master port of this run's own, on loopback, for ``--processes``.

    Locust's master and its forked workers meet on port 5557 unless told otherwise, so two
    load runs on one machine (parallel CI jobs, efficacy stacks side by side) had workers join
    the other run's master: one run ended without figures, the other counted half its
    requests as failed.
    """
    port = str(free_ports(1)[0])
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", port,
            "--master-host", "127.0.0.1", "--master-port", port]  # fmt: skip


def _env(target: Target, out: Path, plan: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[PLAN_ENV] = str(plan)
    env["HARNESS_PROFILE"] = target.profile.name
    env["HARNESS_CONFIG"] = str(find_config())
    env[SUMMARY_ENV] = str(out / "summary.json")
    if isinstance(target.verify, str):
        env[CA_ENV] = target.verify
    root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def database_url(target: Target) -> str | None:
    stores = target.profile.datastores
    if stores.database_url:
        return stores.database_url
    if stores.database_service:
        try:
            return target.service_url(stores.database_service)
        except NotApplicable:
            return None
    return None


def _progress(history: Path, stop: threading.Event, echo: Callable[[str], None]) -> None:
    seen = 0
    while not stop.wait(PROGRESS_S):
        points = read_history(history)
        if len(points) > seen and points:
            last = points[-1]
            p95 = f"{last.p95_ms:.0f} ms" if last.p95_ms is not None else "-"
            echo(
                f"load: {last.t_s:4.0f}s  users {last.users:3d}  {last.rps:6.1f} rps  "
                f"p95 {p95}  failures {last.failures_per_s:.1f}/s"
            )
            seen = len(points)


def _cache_counts(target: Target) -> cache_metrics.CacheCounts | str | None:
    load, path = target.profile.load, target.profile.target.metrics_path
    if not (load.cache_hit_metric and load.cache_miss_metric and path):
        return None
    with target.client() as client:
        return cache_metrics.read(client, path, load.cache_hit_metric, load.cache_miss_metric)


def run_load(
    target: Target,
    out: Path,
    options: LoadOptions,
    *,
    started: bool,
    echo: Callable[[str], None] | None = None,
) -> LoadRun:
    """One headless Locust run; ``started``: the harness brought this stack up itself."""
    out.mkdir(parents=True, exist_ok=True)
    url = target.base_url
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    guard = ProcessGuard(target.guard, namespace=False if started else None)
    argv = _argv(url, out, options)
    notes: list[str] = []
    # One plan for every Locust process, built before the clock starts (a worker that built
    # its own would spend the first seconds of the run probing the target).
    plan = plan_for(target)
    plan_file = out / "plan.json"
    plan_file.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    if echo is not None:
        echo(
            f"load: {len(plan.read_paths)} read paths, {len(plan.api_paths)} API paths, "
            f"login {'yes' if plan.can_login else 'no'}; {options.users} users, "
            f"{options.workers} worker processes, {options.duration_s:g}s"
        )
        for note in plan.notes:
            echo(f"load: {note}")
    before = _cache_counts(target)
    db_url = database_url(target)
    sampler = DbSampler(db_url, target.profile.load.db_user) if db_url else None
    stop = threading.Event()
    ticker = None
    if echo is not None:
        ticker = threading.Thread(
            target=_progress, args=(out / "locust_stats_history.csv", stop, echo), daemon=True
        )
        ticker.start()
    deadline = options.duration_s + 60 + 10 * options.workers
    try:
        if sampler is not None:
            with sampler:
                tool = guard.run(argv, reach=[(parts.hostname or "", port)], deadline_s=deadline,
                                 cwd=out, env=_env(target, out, plan_file))  # fmt: skip
        else:
            notes.append("no database to watch (datastores.database_url / database_service)")
            tool = guard.run(argv, reach=[(parts.hostname or "", port)], deadline_s=deadline,
                             cwd=out, env=_env(target, out, plan_file))  # fmt: skip
    finally:
        stop.set()
    after = _cache_counts(target)
    (out / "locust-output.txt").write_text(tool.output, encoding="utf-8")
    run = LoadRun(
        argv=argv,
        returncode=tool.returncode,
        containment=tool.containment,
        timed_out=tool.timed_out,
        output_tail=tool.output[-4000:],
        out_dir=out,
        options=options,
        history=read_history(out / "locust_stats_history.csv"),
        db=sampler.figures if sampler else None,
        cache=cache_metrics.delta(before, after) if before is not None and after else None,
        notes=notes + tool.notes,
    )
    summary = out / "summary.json"
    if summary.is_file():
        data = json.loads(summary.read_text(encoding="utf-8"))
        run.figures = LoadFigures.model_validate(data["figures"])
        run.verdict = SloVerdict.model_validate(data["verdict"])
    (out / "run.json").write_text(run.model_dump_json(indent=2), encoding="utf-8")
    return run
