"""A DNS server the test controls: it records every query name and answers NXDOMAIN, and
:func:`run_with_resolver` runs a process whose /etc/resolv.conf names only it (a private
mount namespace with the file bind-mounted over), so every lookup the process and its
children make through the system resolver lands here."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _qname(packet: bytes) -> str:
    labels: list[str] = []
    index = 12
    while index < len(packet) and packet[index]:
        length = packet[index]
        labels.append(packet[index + 1 : index + 1 + length].decode("ascii", "replace"))
        index += 1 + length
    return ".".join(labels).lower()


def _nxdomain(packet: bytes) -> bytes:
    # Same id and question; QR set, RD copied, RA set, RCODE 3; no answers.
    flags = 0x8000 | (packet[2] & 0x01) << 8 | 0x0080 | 0x0003
    return packet[:2] + flags.to_bytes(2, "big") + packet[4:6] + b"\0\0\0\0\0\0" + packet[12:]


class DnsRecorder:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # An address of its own, so parallel test workers do not share port 53.
        for _ in range(20):
            self.address = f"127.53.{random.randrange(1, 255)}.{random.randrange(1, 255)}"
            try:
                self._sock.bind((self.address, 53))
                break
            except OSError:
                continue
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                packet, peer = self._sock.recvfrom(4096)
            except OSError:
                return
            if len(packet) > 12:
                self.queries.append(_qname(packet))
                self._sock.sendto(_nxdomain(packet), peer)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the serving thread
        self._sock.close()
        self._thread.join(timeout=2)


def can_run() -> str | None:
    """Why the recorder cannot be used here, or None."""
    if os.geteuid() != 0:
        return "needs root (port 53 and a mount namespace)"
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    )
    return None if probe.returncode == 0 else "mount namespaces are refused here"


@contextmanager
def recorder() -> Iterator[DnsRecorder]:
    dns = DnsRecorder()
    try:
        yield dns
    finally:
        dns.close()


def run_with_resolver(
    dns: DnsRecorder,
    argv: list[str],
    folder: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    resolv = folder / "resolv.conf"
    resolv.write_text(f"nameserver {dns.address}\noptions attempts:1 timeout:1\n")
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(resolv), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(os.environ if env is None else env), "PYTHONPATH": os.pathsep.join(_paths())},
        cwd=cwd,
    )


def _paths() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    extra = os.environ.get("PYTHONPATH", "")
    return [str(root), *([extra] if extra else [])]
