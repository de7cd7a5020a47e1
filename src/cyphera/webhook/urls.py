"""Which URLs a webhook endpoint may point at.

Every endpoint: an absolute ``http``/``https`` URL with a host, at most 2048 characters.

Live mode adds what keeps deliveries from being turned against our own network (SSRF):

- ``https`` only, and no credentials in the URL (``user:pass@``);
- the host, when it is an IP literal, is globally reachable: `ipaddress`'s ``is_global`` (IANA's
  special-purpose registries: private, loopback, link-local with the cloud metadata address
  169.254.169.254, shared, documentation, …) and neither multicast nor reserved — rather than
  a list of ranges of our own, which missed site-local ``fec0::/10``. An IPv6 address that
  carries an IPv4 one (IPv4-mapped ``::ffff:10.0.0.1``, IPv4-compatible, 6to4 ``2002::/16``,
  Teredo, NAT64 ``64:ff9b::/96``) must be global on both counts;
- the host is not ``localhost`` or a name under ``.localhost``, ``.internal`` or ``.local``.

These checks use no DNS: a public name can still resolve to a private address, so the delivery
worker must check the address it connects to as well. Test mode allows ``http`` and local hosts,
so developers can receive test events on their own machine.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

from cyphera.models.mixins import Mode
from cyphera.webhook.errors import UrlInvalid, UrlNotAllowed

MAX_URL_LENGTH = 2048
PARAM = "url"
_LOCAL_NAMES = ("localhost",)
_LOCAL_SUFFIXES = (".localhost", ".internal", ".local")
# Hosts such as ``127.1``, ``2130706433`` or ``0x7f.0.0.1``: not names (no top-level domain is
# numeric) but the legacy IPv4 forms HTTP clients still resolve through ``inet_aton``.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, still parsed by some stacks
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*$")


def check_url(url: str, *, mode: Mode) -> str:
    """`url` if an endpoint of `mode` may use it; `UrlInvalid` or `UrlNotAllowed` otherwise."""
    parts = _parse(url)
    if mode is Mode.LIVE:
        _check_live(parts)
    return url


def _parse(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise UrlInvalid(f"the URL is longer than {MAX_URL_LENGTH} characters", param=PARAM)
    if url != url.strip() or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UrlInvalid("the URL contains whitespace or control characters", param=PARAM)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it (ValueError when out of range)
    except ValueError:
        raise UrlInvalid("the URL is not valid", param=PARAM) from None
    if parts.scheme not in ("http", "https"):
        raise UrlInvalid("the URL must start with https:// (or http:// in test mode)", param=PARAM)
    if not parts.hostname:
        raise UrlInvalid("the URL must name a host", param=PARAM)
    return parts


def _check_live(parts: SplitResult) -> None:
    if parts.scheme != "https":
        raise UrlNotAllowed("live endpoints must use https://", param=PARAM)
    if parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("the URL must not contain credentials (user:pass@)", param=PARAM)
    host = (parts.hostname or "").rstrip(".").lower()
    if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES):
        raise UrlNotAllowed(f"live endpoints cannot use the local host name {host!r}", param=PARAM)
    if _is_private_address(host):
        raise UrlNotAllowed(
            f"live endpoints cannot use the non-public address {host!r}", param=PARAM
        )


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")  # "this host": connecting reaches ourselves


def connect_refusal(address: IpAddress, *, allow_local: bool) -> str | None:
    """Why a delivery must not connect to `address` (None: it may).

    Checked on the address actually connected to, after resolving, so a public name that
    resolves (or is rebound) to a private address is refused as well. Globally reachable
    addresses are always allowed; with `allow_local` (test mode on a developer's machine) so are
    loopback and private ones — never link-local (the cloud metadata address 169.254.169.254),
    "this network", multicast or reserved ones.
    """
    if _is_global(address):
        return None
    target = (
        address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address
    )
    local = (target.is_loopback or target.is_private) and not (
        target.is_link_local
        or target.is_multicast
        or target.is_unspecified
        or (isinstance(target, ipaddress.IPv4Address) and target in _THIS_NETWORK)
    )
    if allow_local and local:
        return None
    return f"{address} is not a public address"


def _is_private_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone is no excuse
    except ValueError:
        if not _NUMERIC_HOST.match(host):
            return False  # a name: checked by the delivery worker once resolved
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return True  # numeric but not an address: nothing we could deliver to
    return not _is_global(address)


def _is_global(address: IpAddress) -> bool:
    """Whether `address`, and every IPv4 address it carries, is globally reachable."""
    if isinstance(address, ipaddress.IPv6Address):
        # Site-local fec0::/10 was deprecated (RFC 3879) but is still routed inside networks;
        # `is_global` counts it global before Python 3.13.
        if address.is_site_local:
            return False
        if not all(_is_global(carried) for carried in _carried_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast and not address.is_reserved


def _carried_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a transition mechanism would reach through `address`."""
    carried = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    low_32_bits = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        carried.append(low_32_bits)
    return [a for a in carried if a is not None]
