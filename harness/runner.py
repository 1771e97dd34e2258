"""Run suites through pytest against a stack that is already up.

``harness run`` and ``harness efficacy`` both come here; the matrix goes through a
``SuiteRunner`` (``PytestRunner`` here, a fake in unit tests). pytest runs as a child process so a
crash in a test cannot take the stack (and its teardown) down with it, and so xdist can spread
the tests over worker processes that attach to the one stack through its state file.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from harness.profile import find_config


def _suites_root() -> Path:
    """The ``suites`` package's folder: the checkout's ``suites/`` or the installed one.

    The suites ship in the same distribution as the harness, so they sit beside the ``harness``
    package both in a checkout and in site-packages; that copy wins over any other ``suites``
    on the path (a user's own folder of that name). Elsewhere, the importable package.
    """
    beside = Path(__file__).resolve().parent.parent / "suites"
    if (beside / "__init__.py").is_file():
        return beside
    spec = importlib.util.find_spec("suites")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return beside


SUITES_ROOT = _suites_root()

# Suites whose tests only read the stack may run on several xdist workers; the plugin's
# stack lock serialises the disruptive ones against the rest.
DEFAULT_SUITES = (
    "owasp",
    "api",
    "observability",
    "performance",
    "resilience",
    "e2e",
    "supply_chain",
    "roadmap",
)


# Pytest plugins the harness's suites never use (they drive Hypothesis, Schemathesis and the
# browser through the harness's own code): each pytest child would import them for nothing,
# about two seconds per start, which the efficacy matrix pays once per fault.
UNUSED_PLUGINS = ("hypothesispytest", "schemathesis", "playwright", "anyio", "locust")


# Suites collected whole even for one control: the e2e suite adds the profile's journeys (the
# target's own test files) only to a run that asks for its folder, and its browser-side
# controls judge the pages those journeys visited.
WHOLE_SUITES = ("e2e",)


class HarnessError(Exception):
    """The harness itself could not do its job (exit code 2)."""


class SuiteRun(BaseModel):
    out: Path
    results: Path
    pytest_exit: int
    duration_s: float


def available_suites() -> list[str]:
    if not SUITES_ROOT.is_dir():
        return []
    return sorted(p.name for p in SUITES_ROOT.iterdir() if p.is_dir() and any(p.glob("test_*.py")))


def suite_paths(names: Sequence[str], controls: Sequence[str] | None = None) -> list[str]:
    """The folders of the named suites; with ``controls``, only their files that hold those
    controls' tests. Collecting every suite costs a fault run of the efficacy matrix as much as
    its one test; a control whose tests the source scan cannot place keeps the whole folders."""
    known = available_suites()
    paths = []
    for name in names:
        if name not in known:
            raise HarnessError(f"no suite named {name!r} (known: {', '.join(known) or 'none'})")
        paths.append(str(SUITES_ROOT / name))
    if controls:
        files = _files_of(controls, paths)
        if files:
            return files
    return paths


@functools.cache
def _coverage(scan: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """The suites' marks, scanned once per process: a matrix asks for them once per fault."""
    return scan(SUITES_ROOT)


def _files_of(controls: Sequence[str], folders: Sequence[str]) -> list[str] | None:
    from harness.suite_scan import SuitesNotFound, scan_suites

    try:
        coverage = _coverage(scan_suites)
    except SuitesNotFound:
        return None
    files: list[str] = []
    for control in controls:
        tests = coverage[control].tests if control in coverage else []
        if not tests:
            return None  # placed some other way (a conftest's mark): collect everything
        for nodeid in tests:
            path = str(SUITES_ROOT.parent / nodeid.split("::", 1)[0])
            folder = next((f for f in folders if path.startswith(f + "/")), None)
            if folder is None:
                continue
            whole = Path(folder).name in WHOLE_SUITES
            if (folder if whole else path) not in files:
                files.append(folder if whole else path)
    return sorted(files) or None


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_pytest(
    *,
    profile: str,
    state_path: Path | None,
    suites: Sequence[str],
    out: Path,
    workers: int,
    controls: Sequence[str] | None = None,
    extra_args: Sequence[str] = (),
    echo: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
    strict_catalog: bool = False,
) -> SuiteRun:
    """Run the suites' tests; return where the plugin wrote ``results.json``."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        *suite_paths(suites, controls),
        "-p",
        "harness.select",
        "--profile",
        profile,
        "--harness-out",
        str(out),
        # Node ids read ``suites/<suite>/test_x.py::...`` whether the suites are the checkout's
        # or the installed package's.
        "--rootdir",
        str(SUITES_ROOT.parent),
        "-q",
        "--no-header",
        "-rfE",
        "-o",
        "console_output_style=count",
    ]
    for plugin in UNUSED_PLUGINS:
        argv += ["-p", f"no:{plugin}"]
    if state_path is not None:
        argv += ["--stack-state", str(state_path)]
    if workers > 1:
        argv += ["-n", str(workers)]
    else:
        argv += ["-p", "no:xdist"]
    if controls:
        argv += ["--controls", ",".join(controls)]
    if strict_catalog:
        # The full set: every area is reported and a control with no test is an error.
        argv += ["--harness-strict-catalog"]
    argv += list(extra_args)
    child_env = {**os.environ, **(env or {})}
    # The child runs in the user's folder, as this process does, and reads the same harness.toml.
    config = find_config()
    if config.is_file():
        child_env.setdefault("HARNESS_CONFIG", str(config.resolve()))
    started = time.monotonic()
    with subprocess.Popen(
        argv,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if echo is not None:
                echo(line.rstrip("\n"))
        code = child.wait()
    duration = time.monotonic() - started
    results = out / "results.json"
    if code not in (0, 1) or not results.is_file():
        raise HarnessError(
            f"pytest exited with {code} and "
            + ("wrote results.json" if results.is_file() else "wrote no results.json")
            + f"; run it by hand to see why: {' '.join(argv[2:])}"
        )
    return SuiteRun(out=out, results=results, pytest_exit=code, duration_s=round(duration, 2))


def load_results(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read results: {exc}") from exc
    return data


def statuses(results: dict[str, Any]) -> dict[str, str]:
    """Control id -> status, from a results.json document."""
    return {str(c["id"]): str(c["status"]) for c in results.get("controls", [])}


class ControlRun(BaseModel):
    """What one pytest run said about each control."""

    statuses: dict[str, str]
    reasons: dict[str, str] = Field(default_factory=dict)
    results: str = ""
    duration_s: float = 0.0


class SuiteRunner(Protocol):
    def __call__(self, *, out: Path, controls: Sequence[str] | None, workers: int) -> ControlRun:
        """Run the tests of ``controls`` (None: every test of the selected suites)."""
        ...


class PytestRunner:
    """The selected suites through pytest in a child process, against the stack's state file."""

    def __init__(
        self,
        *,
        profile: str,
        state_path: Path | None,
        suites: Sequence[str],
        echo: Callable[[str], None] | None,
        strict_catalog: bool,
    ) -> None:
        self.profile = profile
        self.state_path = state_path
        self.suites = list(suites)
        self.echo = echo
        self.strict_catalog = strict_catalog

    def __call__(self, *, out: Path, controls: Sequence[str] | None, workers: int) -> ControlRun:
        run = run_pytest(
            profile=self.profile,
            state_path=self.state_path,
            suites=self.suites,
            out=out,
            workers=workers,
            controls=controls,
            echo=self.echo,
            # Strict only for the complete run: a subset leaves most controls without tests.
            strict_catalog=self.strict_catalog and controls is None,
        )
        document = load_results(run.results)
        reasons = {
            str(c["id"]): str(c["reason"]) for c in document.get("controls", []) if c.get("reason")
        }
        return ControlRun(
            statuses=statuses(document),
            reasons=reasons,
            results=str(run.results),
            duration_s=run.duration_s,
        )
