"""Source addresses for bursts and parallel logins: the one place that hands them out.

A target limits per client address (login throttling, API rate limits, lockouts), so bursts of
different tests sent from one address would trip each other's limits. On Linux every address of
127.0.0.0/8 is the machine's own, so each burst and each login gets an address of its own:
``source(62)`` is 127.0.0.62, ``source(76, 3)`` the third address of slot 76's block
(127.0.76.3). Slots are fixed per test module so two modules never share a limiter bucket.

A source on the loopback network cannot reach a target anywhere else, so :func:`usable` (applied
by ``Target.client``) drops the address unless the target itself is on IPv4 loopback; the system
then picks the source. ``HARNESS_SOURCE_NETWORK`` moves the range (an IPv4 network of /16 or
wider) or turns the addresses off (``off``: macOS, for one, answers on 127.0.0.1 only unless
more aliases are configured).
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

SOURCE_NETWORK_ENV = "HARNESS_SOURCE_NETWORK"
DEFAULT_NETWORK = "127.0.0.0/8"
OFF = ("off", "none", "")
BLOCK = 256  # addresses per slot block: source(slot, host) for host in 1..255


def _network() -> ipaddress.IPv4Network | None:
    value = os.environ.get(SOURCE_NETWORK_ENV, DEFAULT_NETWORK).strip()
    if value.lower() in OFF:
        return None
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        network = None
    if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen > 16:
        raise ValueError(
            f"{SOURCE_NETWORK_ENV}={value!r}: give an IPv4 network of /16 or wider "
            f"(e.g. {DEFAULT_NETWORK}) or 'off'"
        )
    return network


def source(slot: int, host: int = 0) -> str:
    """Address ``slot`` of the range, or address ``host`` (1..255) of slot ``slot``'s block."""
    if not 0 < slot < BLOCK or not 0 <= host < BLOCK:
        raise ValueError(f"source address slot {slot}/{host}: both must be within 1..255")
    network = _network() or ipaddress.IPv4Network(DEFAULT_NETWORK)
    offset = slot * BLOCK + host if host else slot
    return str(network.network_address + offset)


def burst(slot: int, count: int) -> list[str]:
    """``count`` addresses of slot ``slot``'s block, for a burst spread over several sources."""
    return [source(slot, host) for host in range(1, count + 1)]


def _on_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


def usable(address: str | None, target_url: str) -> str | None:
    """``address`` when a request to ``target_url`` can be sent from it, else None.

    A loopback source only reaches a loopback target; any other source (a range of the
    machine's own routable aliases in ``HARNESS_SOURCE_NETWORK``) is the caller's choice.
    """
    if address is None:
        return None
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address
    if not loopback:
        return address
    if _network() is None:
        return None
    return address if _on_loopback(target_url) else None
