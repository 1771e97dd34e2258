"""Finding and running the scanners: each one through the egress guard, with a wall deadline.

The scanners read files and need no network (pip-audit excepted, which reaches only the
advisory mirror it is given), so they run with nothing in ``reach``: inside a network
namespace where the machine allows one, they cannot send a packet anywhere.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from harness.guard_process import ProcessGuard, ToolRun
from harness.scope import ScopeGuard
from harness.verdicts import NotEvaluated

# Tools whose pins clash with the harness's live in environments of their own beside the
# checkout's .venv (scripts/setup makes them).
TOOL_VENVS = (".venv-checkov", ".venv-tools")


def find_tool(name: str) -> str | None:
    """HARNESS_<NAME>, then the checkout's tool environments, then beside this Python, then
    PATH."""
    explicit = os.environ.get(f"HARNESS_{name.upper().replace('-', '_')}")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    checkout = Path(__file__).resolve().parents[2]
    candidates = [Path(sys.executable).parent / name]
    for venv in TOOL_VENVS:
        candidates += [
            checkout / venv / "bin" / name,
            Path(sys.prefix).parent / venv / "bin" / name,
        ]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    return shutil.which(name)


def require_tool(name: str, hint: str) -> str:
    """The tool's path; not_evaluated with how to install it when it is missing."""
    path = find_tool(name)
    if path is None:
        raise NotEvaluated(f"{name} is not installed ({hint})")
    return path


class Scanners:
    """Runs scanners contained by the profile's allow-list."""

    def __init__(self, allow: Sequence[str], *, timeout_s: float) -> None:
        self.scope = ScopeGuard(allow)
        self.guard = ProcessGuard(self.scope)
        # For a tool that must reach a public service the allow-list names: no namespace.
        self.open_guard = ProcessGuard(self.scope, namespace=False)
        self.timeout_s = timeout_s

    def allows(self, url: str) -> bool:
        """Whether the profile's allow-list lets a tool reach ``url``."""
        host = urlsplit(url).hostname or ""
        return bool(host) and self.scope.allows_host(host)

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        reach: Sequence[tuple[str, int]] = (),
        env: dict[str, str] | None = None,
        public: bool = False,
    ) -> ToolRun:
        """Run one scanner; a run stopped at its deadline is not_evaluated, never a verdict.

        ``public``: the tool reaches a public service the caller checked with ``allows``."""
        # PYTHONSAFEPATH: the namespace launcher runs as ``python -m``, which would put the
        # working folder (a scanned tree, whose select.py or types.py would then shadow the
        # standard library's) first on its import path.
        full_env = {**os.environ, **(env or {}), "PYTHONSAFEPATH": "1"}
        guard = self.open_guard if public else self.guard
        run = guard.run(argv, reach=reach, deadline_s=self.timeout_s, cwd=cwd, env=full_env)
        name = Path(argv[0]).name
        if run.timed_out:
            raise NotEvaluated(f"{name} did not finish within {self.timeout_s:.0f}s")
        if run.returncode is None or run.returncode < 0 or run.returncode >= 124:
            raise NotEvaluated(
                f"{name} could not run (exit {run.returncode}): {_last_line(run.output)}"
            )
        return run


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
