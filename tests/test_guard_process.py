"""The process guard: a network namespace with only the proxy bridged in, a wall deadline,
and the wapiti adapter's retry and partial-coverage handling (with a fake wapiti)."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.engines import EngineRun, EngineUnavailable, wapiti
from harness.guard_process import ProcessGuard, namespace_available
from harness.scope import ScopeGuard

LOOPBACK = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return


@contextmanager
def _server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


PROBE = textwrap.dedent(
    """
    import socket, sys, urllib.request
    print("proxy", urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/").status)
    for what, call in (
        ("dns", lambda: socket.getaddrinfo("cdn.example.com", 443)),
        ("tcp", lambda: socket.create_connection(("192.0.2.1", 80), timeout=2)),
        ("other-port", lambda: socket.create_connection(("127.0.0.1", int(sys.argv[2])), 2)),
    ):
        try:
            call()
            print(what, "reached")
        except OSError as exc:
            print(what, "failed", type(exc).__name__)
    """
)


@pytest.mark.skipif(not namespace_available(), reason="no network namespace on this machine")
def test_a_contained_tool_reaches_the_proxy_and_nothing_else(tmp_path):
    with _server() as allowed, _server() as other:
        run = ProcessGuard(LOOPBACK, namespace=True).run(
            [sys.executable, "-c", PROBE, str(allowed), str(other)],
            reach=[("127.0.0.1", allowed)],
            deadline_s=20,
            cwd=tmp_path,
        )
    assert run.containment == "netns" and run.returncode == 0, run.output
    assert "proxy 200" in run.output
    assert "dns failed" in run.output and "tcp failed" in run.output
    assert "other-port failed" in run.output  # loopback ports that were not bridged in


def test_a_tool_is_stopped_at_its_deadline(tmp_path):
    started = time.monotonic()
    run = ProcessGuard(LOOPBACK).run(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        reach=[],
        deadline_s=1.0,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert run.timed_out and elapsed < 20, elapsed  # a 60 s sleep, stopped; slack for load
    assert "stopped at its 1s deadline" in run.notes


def test_the_guard_refuses_to_bridge_an_endpoint_outside_the_allow_list(tmp_path):
    from harness.scope import OutOfScope

    with pytest.raises(OutOfScope):
        ProcessGuard(LOOPBACK).run(["true"], reach=[("10.1.2.3", 80)], deadline_s=1, cwd=tmp_path)


FAKE_WAPITI = """#!{python}
# A stand-in for wapiti: its behaviour is read from a file beside it, one line per call.
import json, sqlite3, sys, time
from pathlib import Path
args = sys.argv[1:]
value = lambda flag: args[args.index(flag) + 1]
plan = Path(__file__).with_name("plan")
steps = plan.read_text().split()
step, rest = steps[0], steps[1:]
plan.write_text(" ".join(rest or [step]))
modules = value("-m").split(",")
if step == "locked":
    print("sqlite3.OperationalError: database is locked")
    sys.exit(1)
if step == "hang":
    session = Path(value("--store-session")); session.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(session / "scan.db")
    db.executescript('''
      CREATE TABLE paths (path_id INTEGER PRIMARY KEY, path TEXT, method TEXT);
      CREATE TABLE payloads (evil_path_id INT, original_path_id INT, module TEXT, category TEXT,
        level INT, parameter TEXT, info TEXT, type TEXT, wstg TEXT, response_id INT);
      CREATE TABLE attack_logs (path_id INT, module TEXT);
      INSERT INTO paths VALUES (1, 'http://127.0.0.1:9/search?q=x', 'GET');
      INSERT INTO payloads VALUES (1, 1, 'sql', 'SQL Injection', 4, 'q', 'error', 'vulnerability',
        '', NULL);
      INSERT INTO attack_logs VALUES (1, 'sql');
    ''')
    db.commit(); db.close()
    print("[*] Launching module " + modules[0], flush=True)
    time.sleep(120)
for name in modules:
    print("[*] Launching module " + name)
report = {{"infos": {{"version": "Wapiti fake"}}, "vulnerabilities": {{}}, "anomalies": {{}},
          "additionals": {{}}}}
Path(value("-o")).write_text(json.dumps(report))
"""


@pytest.fixture
def fake_wapiti(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "wapiti"
    script.write_text(FAKE_WAPITI.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setattr("harness.engines.wapiti.wapiti_binary", lambda: str(script))

    def plan(*steps: str) -> None:
        (folder / "plan").write_text(" ".join(steps))

    return plan


def _scan(tmp_path: Path, budget_s: float) -> EngineRun:
    return wapiti.run(
        "http://127.0.0.1:9/",
        guard=ProcessGuard(LOOPBACK, namespace=False),
        budget_s=budget_s,
        workdir=tmp_path / "scan",
    )


def test_a_locked_store_is_retried_once_with_a_fresh_session(tmp_path, fake_wapiti):
    fake_wapiti("locked", "ok")
    run = _scan(tmp_path, 30)
    assert len(run.attempts) == 1 and "database is locked" in run.attempts[0]
    assert run.coverage is not None and run.coverage.complete
    assert (tmp_path / "scan" / "attempt-2" / "wapiti.json").exists()


def test_a_second_transient_failure_is_not_evaluated_with_both_attempts(tmp_path, fake_wapiti):
    fake_wapiti("locked", "locked")
    with pytest.raises(EngineUnavailable) as raised:
        _scan(tmp_path, 30)
    assert len(raised.value.attempts) == 2


def test_a_scan_stopped_at_its_budget_keeps_its_findings_and_says_what_it_missed(
    tmp_path, fake_wapiti
):
    fake_wapiti("hang")
    started = time.monotonic()
    run = _scan(tmp_path, 3)
    elapsed = time.monotonic() - started
    assert elapsed < 3 + 15, elapsed  # the fake hangs for good; slack for a loaded machine
    assert run.coverage is not None and run.coverage.stopped_at_budget
    assert not run.coverage.complete and run.coverage.ran == ["sql"]
    assert "stopped at its 3 s budget after 1 of 11 modules ran" in run.coverage.describe(3)
    assert [f.title for f in run.failing()] == ["SQL Injection"]


SCAN_UNDER_RECORDER = textwrap.dedent(
    """
    import json, socket, sys, tempfile, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path
    from harness.engines import wapiti
    from harness.engines.authproxy import AuthProxy
    from harness.guard_process import ProcessGuard
    from harness.scope import ScopeGuard, scoped_client

    try:  # the positive control: a lookup this process makes must reach the recorder
        socket.getaddrinfo("canary.recorder.test", 80)
    except OSError:
        pass

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (b'<html><script src="https://cdn.example.com/x.js"></script>'
                    b'<a href="/search?q=1">s</a><form action="/f"><input name="n"></form></html>')
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    guard = ScopeGuard(["127.0.0.0/8", "::1", "localhost"])
    with AuthProxy(base, None, client_factory=lambda: scoped_client(guard), guard=guard) as proxy:
        host, port = proxy.url.removeprefix("http://").rsplit(":", 1)
        run = wapiti.run(
            proxy.url, guard=ProcessGuard(guard, namespace=sys.argv[1] == "netns"),
            budget_s=float(sys.argv[2]), proxy_url=proxy.url, reach=[(host, int(port))],
            workdir=Path(tempfile.mkdtemp()),
        )
    print(json.dumps({"containment": run.containment, "requests": proxy.requests,
                      "elapsed": run.elapsed_s, "ran": run.coverage.ran}))
    """
)


@pytest.mark.parametrize("containment", ["proxy-only", "netns"])
def test_wapiti_makes_no_dns_query_outside_the_allow_list(tmp_path, containment):
    """Under a resolver the test controls: the flags alone keep wapiti's lookups on the
    allow-list (its out-of-band DNS endpoint was looked up at start before), and in a
    namespace it has no resolver to ask at all."""
    from dns_recorder import can_run, recorder, run_with_resolver

    if reason := can_run():
        pytest.skip(reason)
    if wapiti.wapiti_binary() is None:
        pytest.skip("wapiti is not installed")
    if containment == "netns" and not namespace_available():
        pytest.skip("no network namespace on this machine")
    with recorder() as dns:
        done = run_with_resolver(
            dns, [sys.executable, "-c", SCAN_UNDER_RECORDER, containment, "15"], tmp_path, 90
        )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["containment"] == containment and summary["requests"] > 0, summary
    assert "canary.recorder.test" in dns.queries  # the recorder sees this process's lookups
    outside = {
        q for q in dns.queries if q != "canary.recorder.test" and not LOOPBACK.allows_host(q)
    }
    assert not outside, f"DNS queries outside the allow-list: {sorted(outside)}"
