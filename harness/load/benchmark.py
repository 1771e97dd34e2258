"""``scripts/benchmark-load``: Locust's throughput against wrk's on one route, and Locust's
throughput with 1 and 2 worker processes, printed in one run. Figures only, no verdict.

The route is the profile's liveness path (anonymous, cheap, no rate limit), so both tools
measure themselves and the same thin slice of the target. Both run through the process guard
on the stack the script starts.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
import tempfile
from pathlib import Path

from harness.guard_process import ProcessGuard
from harness.load.runner import master_port_args
from harness.profile import load_profile
from harness.stack import open_stack
from harness.target import Target

USERS = 20
LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Hammer(FastHttpUser):
    wait_time = constant(0)
    insecure = True  # wrk does not verify either; the same TLS work on both sides

    @task
    def hit(self):
        self.client.get({path!r})
"""


def _locust_rps(guard: ProcessGuard, url: str, path: str, seconds: int, workers: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        folder = Path(tmp)
        (folder / "hammer.py").write_text(LOCUSTFILE.format(path=path), encoding="utf-8")
        argv = [sys.executable, "-m", "locust", "-f", str(folder / "hammer.py"), "--headless",
                "--host", url, "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s",
                "--csv", str(folder / "b"), "--only-summary"]  # fmt: skip
        if workers:
            argv += ["--processes", str(workers), *master_port_args()]
        host = url.split("//", 1)[1].split(":")[0]
        guard.run(argv, reach=[(host, 0)], deadline_s=seconds + 60, cwd=folder)
        with (folder / "b_stats.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    return float(row["Requests/s"])
    return 0.0


def _wrk_rps(guard: ProcessGuard, url: str, seconds: int) -> float | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        print("benchmark: wrk is not installed (apt-get install wrk; scripts/setup does)")
        return None
    host = url.split("//", 1)[1].split("/")[0].split(":")[0]
    argv = [wrk, "-t", "2", "-c", str(USERS), "-d", f"{seconds}s", url]
    run = guard.run(argv, reach=[(host, 0)], deadline_s=seconds + 30, cwd=Path.cwd())
    found = re.search(r"Requests/sec:\s+([\d.]+)", run.output)
    return float(found.group(1)) if found else None


def main(argv: list[str]) -> int:
    seconds = int(argv[0]) if argv else 10
    profile = load_profile()
    stack = open_stack(profile)
    stack.up()
    try:
        target = Target(profile, stack, ca_bundle=stack.ca_bundle)
        url, path = target.base_url, profile.target.live_path
        guard = ProcessGuard(target.guard, namespace=False)  # the stack the script started
        print(f"benchmark: GET {path} on {url}, {USERS} connections, {seconds}s each")
        wrk = _wrk_rps(guard, url + path, seconds)
        one = _locust_rps(guard, url, path, seconds, 0)
        print(f"benchmark: wrk    {wrk or 0:9.1f} rps" if wrk else "benchmark: wrk    n/a")
        print(f"benchmark: locust {one:9.1f} rps (one process)")
        if wrk:
            print(f"benchmark: locust / wrk = {one / wrk:.3f}")
        for workers in (1, 2):
            rps = _locust_rps(guard, url, path, seconds, workers)
            print(f"benchmark: locust {rps:9.1f} rps with {workers} worker process(es)")
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
