"""The only place that starts a network tool as a subprocess (wapiti, and any engine after it).

A tool is contained in two layers:

- its own flags point every out-of-band endpoint, update check and telemetry at loopback or
  switch it off (the engine adapter's job), and its traffic goes to a guarded loopback proxy
  that refuses anything off the allow-list (:mod:`harness.engines.authproxy`);
- where the machine allows it (root, or unprivileged user namespaces), the tool runs in a
  network namespace of its own with only a loopback interface: it cannot reach any address
  but the proxy's, which is bridged in through a unix socket, and it has no working resolver
  (the resolver named in /etc/resolv.conf is unreachable from there, so not a packet leaves).

Every run is bounded by a wall deadline: the process group gets SIGTERM at the deadline and
SIGKILL a few seconds later, whatever the tool's own time options did.

``python -m harness.guard_process --relay HOST:PORT=SOCKET -- ARGV...`` is the part that runs
inside the namespace: it enters it, brings loopback up, relays each allowed endpoint to its
unix socket, runs the tool and exits with its status.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from harness.scope import ScopeGuard

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
KILL_GRACE_S = 2.0
# Exit status of the namespace launcher when it could not set the namespace up.
NS_FAILED = 125

Containment = Literal["netns", "proxy-only"]


class ToolRun(BaseModel):
    """What a contained tool run did."""

    argv: list[str]
    returncode: int | None
    output: str = ""
    elapsed_s: float = 0.0
    timed_out: bool = Field(default=False, description="stopped at its wall deadline")
    containment: Containment
    notes: list[str] = Field(default_factory=list)


# -- inside the namespace -------------------------------------------------------------------
def _enter_namespace() -> None:
    """A new network namespace (a user namespace too when not root), loopback up."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = CLONE_NEWNET if os.geteuid() == 0 else CLONE_NEWNET | CLONE_NEWUSER
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) refused")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        current = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", current | IFF_UP))


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def _splice(left: socket.socket, right: socket.socket) -> None:
    """Copy both ways until both sides are done, then close both."""
    back = threading.Thread(target=_pump, args=(right, left), daemon=True)
    back.start()
    _pump(left, right)
    back.join()
    left.close()
    right.close()


def _serve(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    while True:
        try:
            accepted, _ = listener.accept()
        except OSError:
            return
        try:
            outbound = connect()
        except OSError:
            accepted.close()
            continue
        threading.Thread(target=_splice, args=(accepted, outbound), daemon=True).start()


def _tcp_to_unix(host: str, port: int, path: str) -> None:
    listener = socket.create_server((host, port))

    def connect() -> socket.socket:
        out = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        out.connect(path)
        return out

    threading.Thread(target=_serve, args=(listener, connect), daemon=True).start()


def namespace_main(argv: Sequence[str]) -> int:
    """Entry point inside the namespace (see the module docstring)."""
    relays: list[tuple[str, int, str]] = []
    args = list(argv)
    probe = False
    while args and args[0] != "--":
        flag = args.pop(0)
        if flag == "--probe":
            probe = True
        elif flag == "--relay" and args:
            endpoint, path = args.pop(0).split("=", 1)
            host, _, port = endpoint.rpartition(":")
            relays.append((host.strip("[]"), int(port), path))
        else:
            print(f"guard_process: unknown argument {flag!r}", file=sys.stderr)
            return 2
    tool = args[1:]
    try:
        _enter_namespace()
        for relay in relays:
            _tcp_to_unix(*relay)
    except OSError as exc:
        print(f"guard_process: no network namespace: {exc}", file=sys.stderr)
        return NS_FAILED
    if probe or not tool:
        return 0
    child = subprocess.Popen(tool)  # noqa: S603 - argv from the engine adapter, no shell

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    return child.wait()


# -- outside: the harness's side ------------------------------------------------------------
@functools.cache
def namespace_available() -> bool:
    """Whether this machine lets the harness give a tool a network namespace of its own."""
    try:
        result = subprocess.run(  # noqa: S603 - our own module
            [sys.executable, "-m", "harness.guard_process", "--probe", "--"],
            capture_output=True,
            timeout=20,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _pythonpath() -> str:
    """The child must import this very harness, wherever it was imported from."""
    root = str(Path(__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{existing}" if existing else root


@contextlib.contextmanager
def _unix_relays(
    reach: Sequence[tuple[str, int]], folder: Path
) -> Iterator[list[tuple[str, int, str]]]:
    """A unix socket per endpoint, relayed to the endpoint in the harness's namespace."""
    listeners: list[socket.socket] = []
    made: list[tuple[str, int, str]] = []
    try:
        for index, (host, port) in enumerate(reach):
            path = str(folder / f"relay-{index}.sock")
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(path)
            listener.listen(64)
            listeners.append(listener)

            def connect(h: str = host, p: int = port) -> socket.socket:
                return socket.create_connection((h, p), timeout=10)

            threading.Thread(target=_serve, args=(listener, connect), daemon=True).start()
            made.append((host, port, path))
        yield made
    finally:
        for listener in listeners:
            listener.close()


class ProcessGuard:
    """Starts network tools contained by the guard (see the module docstring).

    ``namespace``: True requires a network namespace (a run without one raises), False never
    uses one, None uses one where the machine allows it.
    """

    def __init__(self, guard: ScopeGuard, *, namespace: bool | None = None) -> None:
        self.guard = guard
        self.namespace = namespace

    def containment(self) -> Containment:
        if self.namespace is False:
            return "proxy-only"
        if namespace_available():
            return "netns"
        if self.namespace:
            raise RuntimeError("a network namespace was required and this machine refuses one")
        return "proxy-only"

    def run(
        self,
        argv: Sequence[str],
        *,
        reach: Sequence[tuple[str, int]],
        deadline_s: float,
        cwd: Path,
        env: dict[str, str] | None = None,
    ) -> ToolRun:
        """Run ``argv`` until it exits or ``deadline_s`` passes; ``reach`` lists the loopback
        endpoints (the guarded proxy) the tool may connect to, each checked by the guard."""
        for host, _port in reach:
            self.guard.check(f"http://[{host}]/" if ":" in host else f"http://{host}/")
        mode = self.containment()
        # Proxy settings of the harness's own environment must not redirect the tool.
        clean = {
            k: v
            for k, v in (env if env is not None else dict(os.environ)).items()
            if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        }
        started = time.monotonic()
        with (
            tempfile.TemporaryDirectory(prefix="harness-relay-") as tmp,
            _unix_relays(reach if mode == "netns" else [], Path(tmp)) as relays,
        ):
            full = list(argv)
            if mode == "netns":
                clean["PYTHONPATH"] = _pythonpath()
                prefix = [sys.executable, "-m", "harness.guard_process"]
                for host, port, path in relays:
                    prefix += ["--relay", f"{host}:{port}={path}"]
                full = [*prefix, "--", *argv]
            run = self._wait(full, deadline_s, cwd, clean, mode)
        run.argv = list(argv)
        run.elapsed_s = time.monotonic() - started
        if mode == "netns" and run.returncode == NS_FAILED:
            run.notes.append("the network namespace could not be set up")
        return run

    def _wait(
        self, argv: list[str], deadline_s: float, cwd: Path, env: dict[str, str], mode: Containment
    ) -> ToolRun:
        process = subprocess.Popen(  # noqa: S603 - argv from the engine adapter, no shell
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        timed_out = False
        try:
            output, _ = process.communicate(timeout=max(0.1, deadline_s))
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                output, _ = process.communicate(timeout=KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                output, _ = process.communicate()
        notes = [f"stopped at its {deadline_s:.0f}s deadline"] if timed_out else []
        return ToolRun(
            argv=argv,
            returncode=process.returncode,
            output=output or "",
            timed_out=timed_out,
            containment=mode,
            notes=notes,
        )


if __name__ == "__main__":
    sys.exit(namespace_main(sys.argv[1:]))
