"""Render the reference stack's nginx.conf and build the command line that runs it."""

from __future__ import annotations

import ipaddress
import os
import pwd
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "fixtures/stack/nginx.conf.j2"

# Sent by nginx on its own error responses (502/503/504/413), which never reach the app.
# Keep in line with the app's headers (SEC-01).
DEFAULT_SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",
}


def _default_user() -> str | None:
    """nginx's ``user`` only matters when the master runs as root: keep workers as us then."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(os.geteuid()).pw_name


def _check_value(name: str, value: str) -> str:
    if not value or any(c in value for c in " \t\r\n;{}\"'$"):
        raise ValueError(f"nginx config value {name}={value!r} is empty or has unsafe characters")
    return value


def render_nginx_config(
    *,
    http_port: int,
    https_port: int,
    cert: Path | str,
    key: Path | str,
    runtime_dir: Path | str,
    upstream: str | None = None,
    upstream_servers: Sequence[str] | None = None,
    tls_legacy: bool = False,
    user: str | None = "auto",
    security_headers: Mapping[str, str] | None = None,
    template: Path | None = None,
    listen: str = "127.0.0.1",
) -> str:
    """The nginx.conf text; ``upstream_servers``: first primary, the rest ``backup``.

    ``user``: ``"auto"`` emits ``user <current user>`` only when rendering as root (so the
    workers keep access to ``runtime_dir``), ``None`` never emits it (for a config that runs
    elsewhere, e.g. in a container as a non-root user), any other value is used as given.
    """
    servers = list(upstream_servers or ([upstream] if upstream else []))
    if not servers:
        raise ValueError("render_nginx_config needs upstream or upstream_servers")
    for server in servers:
        _check_value("upstream", server)
    headers = dict(DEFAULT_SECURITY_HEADERS if security_headers is None else security_headers)
    for name, value in headers.items():
        _check_value("header name", name)
        if any(c in value for c in '"\r\n$'):
            raise ValueError(f"header value for {name} has unsafe characters: {value!r}")
    path = template or DEFAULT_TEMPLATE
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(path.parent),
        autoescape=False,  # nginx syntax, not HTML  # noqa: S701
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(path.name).render(
        http_port=int(http_port),
        https_port=int(https_port),
        upstream=servers[0],
        upstream_servers=servers,
        cert=_check_value("cert", str(cert)),
        key=_check_value("key", str(key)),
        runtime_dir=_check_value("runtime_dir", str(runtime_dir)),
        tls_legacy=bool(tls_legacy),
        user=_default_user() if user == "auto" else (_check_value("user", user) if user else None),
        security_headers=headers,
        listen=str(ipaddress.ip_address(listen)),  # an address, nothing nginx could misread
    )


def nginx_argv(conf_path: Path | str, prefix: Path | str, nginx: str = "nginx") -> list[str]:
    """Run in the foreground (the config says ``daemon off``) with start-up errors on stderr."""
    return [nginx, "-c", str(conf_path), "-p", str(prefix), "-e", "stderr"]


def nginx_test_argv(conf_path: Path | str, prefix: Path | str, nginx: str = "nginx") -> list[str]:
    """``nginx -t``: check the config without serving."""
    return [*nginx_argv(conf_path, prefix, nginx), "-t"]
