from __future__ import annotations

import ipaddress

import pytest

from cyphera.kit.forwarded import Network, client_address

PROXIES: list[Network] = [
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("2001:db8:cafe::/48"),
]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "client"),
    [
        # No trusted proxies (the default): the header is whatever the client wrote; ignored.
        ("198.51.100.7", ["203.0.113.1"], [], "198.51.100.7"),
        ("127.0.0.1", ["203.0.113.1, 203.0.113.2"], [], "127.0.0.1"),
        # An untrusted peer is the client, whatever it forwards.
        ("198.51.100.7", ["203.0.113.1"], PROXIES, "198.51.100.7"),
        # One trusted proxy: the hop it appended.
        ("10.0.0.5", ["203.0.113.1"], PROXIES, "203.0.113.1"),
        # Spoofed hops to the left of what our proxy appended change nothing.
        ("10.0.0.5", ["1.1.1.1, 2.2.2.2, 203.0.113.1"], PROXIES, "203.0.113.1"),
        # Several trusted proxies, and the header split over several lines.
        ("10.0.0.5", ["6.6.6.6, 203.0.113.1", "10.1.1.1 ,10.2.2.2"], PROXIES, "203.0.113.1"),
        # Every hop trusted: the leftmost is as far as we can see.
        ("10.0.0.5", ["10.9.9.9, 10.1.1.1"], PROXIES, "10.9.9.9"),
        ("10.0.0.5", [], PROXIES, "10.0.0.5"),
        ("10.0.0.5", [" , "], PROXIES, "10.0.0.5"),
        # Ports and IPv6 forms are read; one address has one spelling.
        ("10.0.0.5", ["203.0.113.1:5123"], PROXIES, "203.0.113.1"),
        ("10.0.0.5", ["[2001:DB8::1]:443"], PROXIES, "2001:db8::1"),
        ("2001:db8:cafe::1", ["::ffff:203.0.113.1"], PROXIES, "203.0.113.1"),
        ("::ffff:10.0.0.5", ["203.0.113.1"], PROXIES, "203.0.113.1"),
        # Not an address: kept as text (never trusted), bounded in length.
        ("10.0.0.5", ["unknown"], PROXIES, "unknown"),
        ("10.0.0.5", ["x" * 500], PROXIES, "x" * 64),
        (None, ["203.0.113.1"], PROXIES, "unknown"),
    ],
)
def test_the_client_is_the_first_hop_no_trusted_proxy_added(
    peer: str | None, forwarded_for: list[str], trusted: list[Network], client: str
) -> None:
    assert client_address(peer, forwarded_for, trusted) == client
