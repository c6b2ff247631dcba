"""The client's address behind trusted reverse proxies (``X-Forwarded-For``).

Anyone can send ``X-Forwarded-For``, so it is read only when the peer that
connected is one of ``SHOPRELAY_TRUSTED_PROXIES``; then the list is walked
from the right (each proxy appends the address it saw) past the trusted
hops, and the first address not trusted is the client. Addresses a client
put further left are never reached, so it cannot choose its own identity.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOPS = 32  # entries read from the right; a longer list is someone's noise


def parse_networks(text: str) -> tuple[str, ...]:
    """Comma-separated IPs or CIDRs, normalised; ValueError names the entry."""
    networks = []
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR block") from None
    return tuple(networks)


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return ip


def _trusted(ip: Address, trusted: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in trusted)


def client_of(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client address: the peer itself unless it is a trusted proxy."""
    current = _address(peer)
    if current is None or not trusted or not _trusted(current, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:
            # Not an address, so no trusted proxy wrote it: the last
            # trusted hop is as far as anything can be known.
            break
        current = ip
        if not _trusted(ip, trusted):
            break
    return str(current)
