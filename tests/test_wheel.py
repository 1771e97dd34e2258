"""A wheel built from the repository installs into a fresh virtualenv and runs a profile.

The wheel is built from a copy of the sources (so no stale ``build/`` folder leaks in), installed
without dependencies into a virtualenv made without pip; the third-party dependencies come from
the harness's own environment through a ``.pth`` path line (which, unlike ``site.addsitedir``,
does not run that environment's editable finders, so the checkout's harness and reference app
stay out of sight). Every command runs from an empty folder with no ``PYTHONPATH``: what runs is
the wheel's own files, the suites included.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "harness", "suites")
# Built once per session: the wheel and its virtualenv take most of this file's time.
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")

PAGE = (
    "<!doctype html><html><head><title>tiny</title></head>"
    "<body><h1>A tiny external target</h1>" + "<p>compressible text</p>" * 200 + "</body></html>"
)
OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "tiny", "version": "1"},
    "paths": {"/": {"get": {"responses": {"200": {"description": "the page"}}}}},
}


class _Tiny(BaseHTTPRequestHandler):
    """A page and its OpenAPI document, gzip when asked: a target the harness knows nothing of."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        import gzip

        if self.path.split("?")[0] == "/openapi.json":
            body, kind = json.dumps(OPENAPI).encode(), "application/json"
        elif self.path.split("?")[0] == "/":
            body, kind = PAGE.encode(), "text/html; charset=utf-8"
        else:
            body, kind = b"not found", "text/plain"
        status = 200 if kind != "text/plain" else 404
        headers = {"Content-Type": kind, "Cache-Control": "no-store"}
        if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 256:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET


@pytest.fixture
def tiny_target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tiny)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _build_wheel(folder: Path) -> Path:
    source = folder / "src"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=_SKIP)
        else:
            shutil.copy(path, source / name)
    out = folder / "dist"
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    # Without build isolation when this environment can build wheels itself (offline), else
    # with it (pip fetches setuptools from the configured index).
    for argv in (base + ["--no-build-isolation"], base):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        wheels = sorted(out.glob("*.whl"))
        if done.returncode == 0 and wheels:
            return wheels[0]
    pytest.skip(f"cannot build a wheel here: {done.stderr.strip().splitlines()[-1:]}")


def _venv(folder: Path, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel installed and the dependencies borrowed."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # pip of this environment installs into the new one, console scripts included.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=_clean_env(),
    )
    # Only now borrow the dependencies: pip must not see this environment's own harness
    # install (it would call the wheel installed already and skip it).
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "harness-deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return venv


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (it names the checkout) and no HARNESS_* settings of the caller."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "HARNESS_"))}


@pytest.mark.slow
def test_a_built_wheel_runs_a_profile_from_any_folder(tmp_path: Path, tiny_target: str) -> None:
    started = time.monotonic()
    wheel = _build_wheel(tmp_path)
    venv = _venv(tmp_path, wheel)
    python, harness = str(venv / "bin" / "python"), str(venv / "bin" / "harness")
    work = tmp_path / "work"
    work.mkdir()
    config = work / "harness.toml"
    config.write_text(
        "[profiles.tiny]\n"
        'description = "a tiny external target"\n'
        'provider = "external"\n'
        "[profiles.tiny.target]\n"
        f'base_url = "{tiny_target}"\n'
        # The performance suite's Locust run (PERF-02) is most of a run's time: 12 s by
        # default, about 20 s with its start. 2 s still starts it from the wheel's files, which
        # is what this test is about; its latency figures are not.
        "[profiles.tiny.load]\n"
        "duration_s = 2\n"
        "[profiles.bundled]\n"
        'description = "the reference stack, which only a checkout has"\n'
        'provider = "local"\n'
        'stack = "bundled"\n',
        encoding="utf-8",
    )
    env = _clean_env()

    def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    # The wheel's own harness and suites, not the checkout's.
    where = run(python, "-c", "import harness, suites; print(harness.__file__, suites.__file__)")
    assert where.returncode == 0, where.stderr
    assert str(REPO) not in where.stdout and str(venv) in where.stdout, where.stdout

    controls = run(python, "-m", "harness", "controls", "PERF-01")
    assert controls.returncode == 0, controls.stdout + controls.stderr
    assert "suites/performance/test_compression.py" in controls.stdout

    shown = run(harness, "profile", "show", "tiny")
    assert shown.returncode == 0, shown.stderr
    assert tiny_target in shown.stdout

    done = run(
        harness, "run", "--profile", "tiny", "--suite", "performance", "-n", "1", timeout=300
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    runs = [p for p in (work / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 1, runs
    results = json.loads((runs[0] / "results.json").read_text(encoding="utf-8"))
    statuses = {c["id"]: c["status"] for c in results["controls"]}
    print(statuses)
    assert statuses["PERF-01"] == "pass", results
    assert (runs[0] / "report.html").is_file()

    verified = run(harness, "verify", str(runs[0]))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Plain pytest reaches the installed suites by package name and reports into ./reports too.
    # The whole package is collected (every module is imported from the wheel); only PERF-01
    # runs: the run above has shown the rest runs, and a second load run would prove nothing
    # more for its time.
    plain = run(
        python, "-m", "pytest", "--pyargs", "suites.performance", "--profile", "tiny",
        "-q", "-p", "no:xdist", "-p", "harness.select", "--controls", "PERF-01",
    )  # fmt: skip
    assert plain.returncode in (0, 1), plain.stdout + plain.stderr
    runs = [p for p in (work / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(runs) == 2 and (work / "reports" / "latest" / "results.json").is_file(), runs
    latest = json.loads((work / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    assert {c["id"]: c["status"] for c in latest["controls"]}.get("PERF-01") == "pass", latest

    # The bundled reference stack is the checkout's: one line says so.
    bundled = run(harness, "run", "--profile", "bundled")
    assert bundled.returncode == 2, bundled.stdout + bundled.stderr
    assert "pip install -e fixtures from the repository checkout" in bundled.stderr
    assert "runs bridge" in bundled.stderr and "Traceback" not in bundled.stderr
    print(bundled.stderr)
    print(f"wheel build, install and run: {time.monotonic() - started:.1f} s")
