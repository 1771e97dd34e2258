"""Files the containers provider copies into containers: tars, and nginx's config and TLS."""

from __future__ import annotations

import io
import re
import tarfile
import time
from pathlib import Path
from typing import Any

from harness.stack.base import StackError

NGINX_DIR = "/etc/harness/nginx"
NGINX_UID = 10101  # harness-nginx in the nginx image's container file
NGINX_RUNTIME = "/tmp/nginx"  # noqa: S108 - a tmpfs inside the container


def tar(files: dict[str, tuple[bytes, int]], uid: int) -> bytes:
    """A tar of ``name -> (content, mode)`` owned by ``uid`` (for put_archive)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        dirs = sorted({str(Path(name).parent) for name in files if str(Path(name).parent) != "."})
        for folder in dirs:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode, info.uid, info.gid, info.mtime = 0o750, uid, uid, int(time.time())
            archive.addfile(info)
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(content), mode, uid, uid
            info.mtime = int(time.time())
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def container_class() -> type:
    """testcontainers' DockerContainer, able to copy a prepared tar in before the start."""
    from testcontainers.core.container import DockerContainer

    class HarnessContainer(DockerContainer):  # type: ignore[misc]
        def _transfer_into_container(self, transferable: Any, destination: str, mode: int) -> None:
            # Our transferables are ready-made tars (owner and modes set), extracted at
            # ``destination``; testcontainers' own would make every file root's.
            if self._container is None or not self._container.put_archive(
                path=destination, data=transferable
            ):
                raise StackError(f"could not copy files into {destination}")

    return HarnessContainer


def nginx_config(
    *, http_port: int, https_port: int, upstream: str, tls_legacy: bool, on_host: bool
) -> bytes:
    """nginx.conf for the container: logs to its output, never a ``user`` line."""
    from harness.stack.nginx import render_nginx_config

    text = render_nginx_config(
        http_port=http_port,
        https_port=https_port,
        upstream_servers=[upstream],
        cert=f"{NGINX_DIR}/tls/server.pem",
        key=f"{NGINX_DIR}/tls/server.key",
        runtime_dir=NGINX_RUNTIME,
        tls_legacy=tls_legacy,
        user=None,  # never a `user` line: the master is not root in the container
    )
    # On the stack's network: listen on every interface of the container's own namespace
    # (the port is published on the host's 127.0.0.1 only). Either way: log to the
    # container's output, and no ``user`` (the master does not run as root).
    if not on_host:
        text = re.sub(r"(?m)^(\s*listen\s+)127\.0\.0\.1:", r"\g<1>", text)
    text = re.sub(r"(?m)^user\s+[^;]*;\n", "", text)
    text = re.sub(r"(?m)^(\s*error_log\s+)\S+", r"\g<1>stderr", text)
    text = re.sub(r"(?m)^(\s*access_log\s+)\S+", r"\g<1>/dev/stdout", text)
    return text.encode()


def nginx_files(config: bytes, tls_dir: Path) -> bytes:
    """The tar of nginx's config and the run's server certificate and key."""
    return tar(
        {
            "nginx.conf": (config, 0o640),
            "tls/server.pem": ((tls_dir / "server.pem").read_bytes(), 0o640),
            "tls/server.key": ((tls_dir / "server.key").read_bytes(), 0o600),
        },
        NGINX_UID,
    )
