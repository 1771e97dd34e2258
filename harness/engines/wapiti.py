"""wapiti3 as a contained subprocess, findings normalised to Finding.

Modules: the intrusive set has no ``ssl`` (needs sslscan and is SEC-11's job), no ``ssrf``,
``xxe`` or ``log4shell`` (they need an out-of-band callback host), no brute-forcing or CMS
modules; the passive set (safe mode) only reads responses: ``http_headers``, ``cookieflags``
and ``csp``.

Egress: the scan goes to a guarded loopback proxy (:class:`~harness.engines.authproxy.AuthProxy`)
that is also wapiti's HTTP proxy, every out-of-band endpoint points at loopback (the DNS
endpoint an address, so wapiti's start-up lookup of it is no query), crash reports are off and
no update is asked for; :class:`~harness.guard_process.ProcessGuard` runs it in a network
namespace where the machine allows one.

Budget: ``budget_s`` is a wall deadline for the whole run, retry included. The crawl gets a
quarter of it (``--max-scan-time``), each module an equal share of the next 55 %
(``--max-attack-time``), and the process is stopped at the deadline whatever it is doing; a
stopped scan's findings so far are read from its session database, and the run's
:class:`~harness.engines.Coverage` says which modules did not run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from harness.engines import Coverage, EngineRun, EngineUnavailable
from harness.engines.wapiti_report import parse_report, salvage
from harness.guard_process import ProcessGuard, ToolRun

INTRUSIVE_MODULES = [
    "sql",
    "timesql",
    "xss",
    "permanentxss",
    "redirect",
    "exec",
    "file",
    "crlf",
    "csp",
    "http_headers",
    "cookieflags",
]
DEFAULT_MODULES = INTRUSIVE_MODULES
# Modules that only read the responses the crawl got: nothing is injected or written.
PASSIVE_MODULES = ["http_headers", "cookieflags", "csp"]
# The discard port on loopback: out-of-band modules that are not run still get an endpoint,
# and one that was would reach nothing (the proxy refuses it in any case).
LOOPBACK_ENDPOINT = "http://127.0.0.1:9/"
# Failures worth one more try with a fresh session: wapiti's own store, a crash.
TRANSIENT_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"database is locked",
        r"sqlite3?\.OperationalError",
        r"ConnectError|Connection refused",
        r"Traceback \(most recent call last\)",
    )
]
# Shares of the budget. The rest (20 %) is wapiti's start (module loading takes seconds on
# a busy machine) and the report.
CRAWL_SHARE = 0.25
ATTACK_SHARE = 0.55
MIN_RETRY_S = 8.0


class Plan(BaseModel):
    """How a budget is spent: the crawl, each module, and the wall deadline."""

    crawl_s: float
    module_s: float
    deadline_s: float

    @classmethod
    def for_budget(cls, budget_s: float, modules: list[str]) -> Plan:
        # Passive modules read what the crawl stored and finish at once: the attack share is
        # split among the modules that send payloads.
        attacking = [m for m in modules if m not in PASSIVE_MODULES] or modules
        return cls(
            crawl_s=max(2.0, round(budget_s * CRAWL_SHARE, 1)),
            module_s=max(1.0, round(budget_s * ATTACK_SHARE / max(1, len(attacking)), 1)),
            deadline_s=budget_s,
        )


# wapiti3 pins exact versions of common packages (typing-extensions among them) that rule out
# Schemathesis 4 in one environment, so it lives in a tool environment of its own:
# scripts/setup makes ``.venv-tools`` beside the checkout's ``.venv``.
TOOLS_VENV = ".venv-tools"
INSTALL_HINT = (
    "wapiti is not installed: run scripts/setup (it makes .venv-tools), or "
    "`pipx install wapiti3`, or set HARNESS_WAPITI to the wapiti binary"
)


def wapiti_binary() -> str | None:
    """HARNESS_WAPITI, then the checkout's tool environment, then beside this Python, then PATH."""
    explicit = os.environ.get("HARNESS_WAPITI")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    checkout = Path(__file__).resolve().parents[2]
    candidates = [
        checkout / TOOLS_VENV / "bin" / "wapiti",
        Path(sys.prefix).parent / TOOLS_VENV / "bin" / "wapiti",
        Path(sys.executable).parent / "wapiti",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    return shutil.which("wapiti")


def command(
    base_url: str,
    output: Path,
    session_dir: Path,
    *,
    plan: Plan,
    modules: list[str],
    openapi_url: str | None = None,
    start_urls: list[str] | None = None,
    proxy_url: str | None = None,
    scope: str = "folder",
    verify: bool = False,
) -> list[str]:
    binary = wapiti_binary()
    if binary is None:
        raise EngineUnavailable(INSTALL_HINT)
    argv = [
        binary,
        "-u",
        base_url.rstrip("/") + "/",
        "--scope",
        scope,
        "-m",
        ",".join(modules),
        "--flush-session",
        "--store-session",
        str(session_dir),
        "--store-config",
        str(session_dir),
        "--max-scan-time",
        str(plan.crawl_s),
        "--max-attack-time",
        str(plan.module_s),
        "-f",
        "json",
        "-o",
        str(output),
        "--verify-ssl",
        "1" if verify else "0",
        "-d",
        "3",
        "--max-links-per-page",
        "40",
        "--max-files-per-dir",
        "30",
        "--tasks",
        "8",
        "-t",
        "6",
        # Egress: no crash report upload, every callback endpoint on loopback. The DNS
        # endpoint is resolved when the modules load, even unused: an address is no query.
        "--no-bugreport",
        "--endpoint",
        LOOPBACK_ENDPOINT,
        "--external-endpoint",
        LOOPBACK_ENDPOINT,
        "--dns-endpoint",
        "127.0.0.1",
        "-v",
        "1",
    ]
    if proxy_url:
        argv += ["-p", proxy_url]
    if openapi_url:
        argv += ["--swagger", openapi_url]
    for url in start_urls or []:
        argv += ["-s", url]
    return argv


def is_transient(tool: ToolRun, wrote_report: bool) -> bool:
    """A failure another try may not meet: a crash or wapiti's own store, never the budget."""
    if tool.timed_out or wrote_report or tool.returncode == 0:
        return False
    return (tool.returncode or 0) < 0 or any(p.search(tool.output) for p in TRANSIENT_PATTERNS)


def coverage_from_log(log: str, planned: list[str], stopped: bool) -> Coverage:
    launched = re.findall(r"Launching module (\w+)", log)
    bounded = re.findall(r"Max attack time was reached for module (\w+)", log)
    return Coverage(
        planned=list(planned),
        ran=[m for m in planned if m in launched],
        bounded=[m for m in planned if m in bounded],
        stopped_at_budget=stopped,
    )


def run(
    base_url: str,
    *,
    guard: ProcessGuard,
    budget_s: float = 90.0,
    modules: list[str] | None = None,
    passive: bool = False,
    openapi_url: str | None = None,
    start_urls: list[str] | None = None,
    proxy_url: str | None = None,
    reach: list[tuple[str, int]] | None = None,
    map_to: str | None = None,
    workdir: Path,
) -> EngineRun:
    """Scan ``base_url`` within ``budget_s`` (wall), one retry after a transient failure.

    ``reach`` lists the loopback endpoints the tool may connect to (the proxy); URLs in
    findings are rewritten from ``base_url`` to ``map_to``.
    """
    started = time.monotonic()
    chosen = list(modules or (PASSIVE_MODULES if passive else INTRUSIVE_MODULES))
    attempts: list[str] = []
    result: EngineRun | str = ""
    for attempt in (1, 2):
        remaining = budget_s - (time.monotonic() - started)
        folder = workdir / f"attempt-{attempt}"  # a fresh session and config store each time
        folder.mkdir(parents=True, exist_ok=True)
        result = _attempt(
            base_url,
            folder,
            guard=guard,
            plan=Plan.for_budget(remaining, chosen),
            modules=chosen,
            openapi_url=openapi_url,
            start_urls=start_urls,
            proxy_url=proxy_url,
            reach=reach or [],
        )
        if isinstance(result, EngineRun):
            break
        attempts.append(f"attempt {attempt}: {result}")
        left = budget_s - (time.monotonic() - started)
        if attempt == 2 or left < MIN_RETRY_S:
            if attempt == 1:
                attempts.append(f"no retry: {left:.0f} s of the budget left")
            raise EngineUnavailable("; ".join(attempts), attempts=attempts)
    assert isinstance(result, EngineRun)  # the loop ends on a run or raises
    result.mode = "passive" if passive else "intrusive"
    result.attempts = attempts
    result.target = map_to or base_url
    if map_to:
        for finding in [*result.findings, *result.warnings]:
            if finding.url:
                finding.url = finding.url.replace(base_url.rstrip("/"), map_to.rstrip("/"))
    result.elapsed_s = time.monotonic() - started
    return result


def _attempt(
    base_url: str,
    folder: Path,
    *,
    guard: ProcessGuard,
    plan: Plan,
    modules: list[str],
    openapi_url: str | None,
    start_urls: list[str] | None,
    proxy_url: str | None,
    reach: list[tuple[str, int]],
) -> EngineRun | str:
    """One contained wapiti run: its EngineRun, or why it failed transiently."""
    output = folder / "wapiti.json"
    session = folder / "session"
    argv = command(
        base_url,
        output,
        session,
        plan=plan,
        modules=modules,
        openapi_url=openapi_url,
        start_urls=start_urls,
        proxy_url=proxy_url,
    )
    # HOME: wapiti writes its config under ~; unbuffered: a stopped run keeps its log.
    env = {"HOME": str(folder), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    tool = guard.run(argv, reach=reach, deadline_s=plan.deadline_s, cwd=folder, env=env)
    (folder / "wapiti.log").write_text(tool.output, encoding="utf-8")
    wrote = output.exists()
    if is_transient(tool, wrote):
        tail = tool.output.strip().splitlines()[-1:] or [""]
        return f"wapiti exit {tool.returncode}: {tail[0][:300]}"
    coverage = coverage_from_log(tool.output, modules, tool.timed_out)
    if wrote:
        report = json.loads(output.read_text(encoding="utf-8"))
        result = parse_report(report, str(report.get("infos", {}).get("version", "wapiti")))
        result.raw_path = str(output)
    else:
        saved = salvage(session)
        if saved is None:
            raise EngineUnavailable(
                f"wapiti wrote no report and left no session (exit {tool.returncode}): "
                f"{tool.output.strip()[-500:]}"
            )
        result, attacked = saved
        coverage.ran = [m for m in modules if m in coverage.ran or m in attacked]
        result.notes.append("no report written: findings read from the session database")
    result.coverage = coverage
    result.containment = tool.containment
    result.notes += [
        *tool.notes,
        f"wapiti exit {tool.returncode}, contained: {tool.containment}; "
        f"log {folder / 'wapiti.log'}",
    ]
    return result
