"""Who the client is behind reverse proxies: ``X-Forwarded-For`` read from the right.

Each proxy appends the address it received the connection from, so only the entries appended by
proxies we run (or trust) are facts; everything to their left was written by whoever sent the
request, and is whatever they like. `client_address` therefore starts from the connection's peer
and walks ``X-Forwarded-For`` from the right for as long as the hop it stands on is a trusted
proxy; the first address that is not one is the client. With no trusted proxies (the default)
the header is ignored and the peer is the client: a client rotating its own ``X-Forwarded-For``
changes nothing, and a balancer that is not declared counts as one client (declare it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"
_MAX_HOP_LENGTH = 64  # an address that is not one is kept as text, but never a long one


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The client's address: `peer`, or the rightmost untrusted hop when `peer` is trusted.

    `forwarded_for` is every ``X-Forwarded-For`` header of the request, in order. Addresses come
    back in canonical form (an IPv4-mapped IPv6 address as IPv4), so one client has one key.
    """
    current = peer or UNKNOWN
    if not _is_trusted(current, trusted):
        return _canonical(current)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        current = hop
        if not _is_trusted(hop, trusted):
            break
    return _canonical(current)


def _parse(text: str) -> Address | None:
    candidates = [text]
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        candidates.append(text[1 : text.index("]")])
    elif text.count(":") == 1:  # "192.0.2.1:443"
        candidates.append(text.partition(":")[0])
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return address
    return None


def _is_trusted(text: str, trusted: Sequence[Network]) -> bool:
    address = _parse(text)
    return address is not None and any(address in network for network in trusted)


def _canonical(text: str) -> str:
    address = _parse(text)
    return str(address) if address is not None else text[:_MAX_HOP_LENGTH]
