"""Per-key IP allow-lists (CIDR), parsed once and matched per request."""

from __future__ import annotations

import ipaddress
import re

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.168.1.7 ::1"`` -> networks; ValueError on a bad entry.

    Entries are separated by commas and/or white space; a bare address is a
    /32 (or /128). Host bits set in a network are tolerated (``strict=False``).
    """
    entries = [e for e in re.split(r"[\s,;]+", text or "") if e]
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def address_allowed(address: str | None, networks: tuple[Network, ...]) -> bool:
    """An empty list allows every address; otherwise the address must be in one network."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)
