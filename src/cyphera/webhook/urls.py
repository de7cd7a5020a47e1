"""Which URLs a webhook endpoint may point at.

Every endpoint: an absolute ``http``/``https`` URL with a host, at most 2048 characters.

Live mode adds what keeps deliveries from being turned against our own network (SSRF):

- ``https`` only, and no credentials in the URL (``user:pass@``);
- the host is not an IP literal in a private, loopback, link-local (cloud metadata at
  169.254.169.254), shared, reserved, multicast or unspecified range, IPv4 or IPv6, IPv4-mapped
  IPv6 (``::ffff:10.0.0.1``) included;
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
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None and _is_private_address(str(mapped)):
            return True
    return not address.is_global or address.is_multicast or address.is_reserved
