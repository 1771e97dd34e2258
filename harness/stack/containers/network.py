"""The run's network: where nginx runs, and a /24 no engine network or host route uses."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import sys
from pathlib import Path
from typing import Any

from harness.stack import images as image_tools
from harness.stack.base import StackError


def nginx_network(engine: image_tools.Engine) -> str:
    """Where nginx runs: ``host`` (default with a local Linux engine) or ``bridge``.

    On the stack's network every request from the host reaches nginx from the engine's
    gateway address (the published port is NATed), so the app would see one client for
    every test; on the host's network nginx sees each client's own 127.0.0.x address and
    passes it on in X-Real-IP, as with the local provider. ``HARNESS_NGINX_NETWORK``
    overrides.
    """
    wanted = os.environ.get("HARNESS_NGINX_NETWORK", "").strip().lower()
    if wanted in ("host", "bridge"):
        return wanted
    local = engine.url.startswith("unix://") and sys.platform.startswith("linux")
    return "host" if local else "bridge"


def _host_networks() -> list[ipaddress.IPv4Network]:
    networks = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            dest = ipaddress.IPv4Address(int(fields[1], 16).to_bytes(4, "little"))
            mask = ipaddress.IPv4Address(int(fields[7], 16).to_bytes(4, "little"))
            if int(mask):
                networks.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return networks


def pick_subnet(client: Any) -> ipaddress.IPv4Network:
    """A /24 in 10.213.0.0/16 that no engine network and no host route uses."""
    used: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(_host_networks())
    for network in client.networks.list():
        with contextlib.suppress(Exception):
            for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
                if pool.get("Subnet"):
                    used.append(ipaddress.ip_network(pool["Subnet"], strict=False))
    candidates = list(range(256))
    random.shuffle(candidates)
    for third in candidates:
        subnet = ipaddress.IPv4Network(f"10.213.{third}.0/24")
        if not any(subnet.overlaps(other) for other in used if other.version == 4):
            return subnet
    raise StackError("no free /24 in 10.213.0.0/16 for the stack's network")


def create_network(
    client: Any, name: str, labels: dict[str, str], extra: dict[str, str], nginx_on_host: bool
) -> None:
    """Create the run's network on a free subnet; record its addresses in ``extra``."""
    import docker.errors
    import docker.types
    from testcontainers.core.network import Network

    for attempt in range(4):
        subnet = pick_subnet(client)
        hosts = list(subnet.hosts())
        extra["subnet"] = str(subnet)
        extra["gateway"] = str(hosts[0])
        extra["nginx_ip"] = str(hosts[-1])  # far from the engine's own picks
        # Who the app sees nginx's requests come from: its own address on the network, or,
        # with nginx on the host's network, the gateway (the engine NATs host -> published
        # port).
        extra["proxy_ip"] = str(hosts[0] if nginx_on_host else hosts[-1])
        ipam = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=str(hosts[0]))]
        )
        network = Network(docker_network_kw={"labels": labels, "ipam": ipam, "driver": "bridge"})
        network.name = name
        try:
            network.create()
            return
        except docker.errors.APIError as exc:
            if attempt == 3:  # another run took the same subnet at the same moment?
                raise StackError(f"could not create network {name}: {exc}") from None
