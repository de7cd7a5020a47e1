"""One webhook POST, sent the safe way: to a checked address, once, within bounds.

- **The address connected to is the address checked.** The host is resolved here, every address
  it resolves to is checked (`urls.connect_refusal`), and the request goes to that IP with the
  ``Host`` header and the TLS server name (SNI, certificate check) of the URL's host. A name that
  resolves — or is rebound between two look-ups — to loopback, a private network or the cloud
  metadata address is refused before any byte is sent.
- **No redirects.** A 3xx is a failed attempt ("redirect not followed"), never a second request
  somewhere else.
- **Bounded.** One deadline covers resolving, connecting, sending and reading; at most
  `MAX_READ_BYTES` of the answer are read and `MAX_STORED_BODY` characters kept.
- **No ambient configuration.** Proxy variables are ignored (a proxy would connect on our
  behalf to wherever it likes), and no connection is reused: a pooled TLS connection is keyed by
  IP, and reusing one made for another host name would skip that name's certificate check.

A 2xx answer is a success; anything else, or no answer, is a failure with the reason kept.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import SplitResult, urlsplit

import httpx

from cyphera.webhook.urls import IpAddress, connect_refusal

MAX_READ_BYTES = 64 * 1024
MAX_STORED_BODY = 2_000
USER_AGENT = "Cyphera-Webhooks/1.0"

Resolver = Callable[[str, int], Awaitable[list[IpAddress]]]
"""Resolves a host name and port to the addresses to connect to (tests answer for DNS)."""


async def system_resolver(host: str, port: int) -> list[IpAddress]:
    """The host's addresses, as the operating system resolves them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = (ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
    return list(dict.fromkeys(addresses))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: the answer's status and start, or why there was none."""

    succeeded: bool
    duration_ms: int = 0
    status: int | None = None
    body: str | None = None
    error: str | None = None


class WebhookSender:
    """Sends webhook POSTs; one per process, closed with `aclose`."""

    def __init__(self, *, timeout: float, resolver: Resolver = system_resolver) -> None:
        self._timeout = timeout
        self._resolver = resolver
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, allow_local: bool
    ) -> Outcome:
        """POST `body` to `url` with `headers`; never raises for what the network does."""
        started = time.monotonic()
        outcome = await self._attempt(url, body, headers, allow_local=allow_local)
        return replace(outcome, duration_ms=round((time.monotonic() - started) * 1000))

    async def _attempt(
        self, url: str, body: bytes, headers: Mapping[str, str], *, allow_local: bool
    ) -> Outcome:
        try:
            async with asyncio.timeout(self._timeout):
                parts = urlsplit(url)
                address, refusal = await self._address(parts, allow_local=allow_local)
                if address is None:
                    return Outcome(succeeded=False, error=refusal)
                status, text = await self._send(parts, address, body, headers)
        except TimeoutError:
            return Outcome(succeeded=False, error=f"no answer within {self._timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(succeeded=False, error=_network_error(exc))
        except OSError as exc:  # resolving failed
            return Outcome(
                succeeded=False, error=f"could not resolve the host: {exc.strerror or exc}"
            )
        if 300 <= status < 400:
            return Outcome(succeeded=False, status=status, body=text, error="redirect not followed")
        if not 200 <= status < 300:
            return Outcome(succeeded=False, status=status, body=text, error=f"answered {status}")
        return Outcome(succeeded=True, status=status, body=text)

    async def _address(
        self, parts: SplitResult, *, allow_local: bool
    ) -> tuple[IpAddress | None, str | None]:
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = [ipaddress.ip_address(host.split("%", 1)[0])]
        except ValueError:
            addresses = await self._resolver(host, port)
        if not addresses:
            return None, f"{host} resolves to no address"
        for address in addresses:
            refusal = connect_refusal(address, allow_local=allow_local)
            if refusal is not None:
                return None, f"refused to connect: {host} resolves to {refusal}"
        return addresses[0], None

    async def _send(
        self, parts: SplitResult, address: IpAddress, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, str]:
        host = parts.hostname or ""
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        authority = parts.netloc.rpartition("@")[2]
        request = self._client.build_request(
            "POST",
            parts._replace(netloc=netloc).geturl(),
            content=body,
            headers={
                **headers,
                "Host": authority,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            extensions={"sni_hostname": host} if parts.scheme == "https" else {},
        )
        response = await self._client.send(request, stream=True)
        try:
            read = bytearray()
            async for chunk in response.aiter_raw():
                read += chunk
                if len(read) >= MAX_READ_BYTES:
                    break
        finally:
            await response.aclose()
        return response.status_code, bytes(read).decode("utf-8", "replace")[:MAX_STORED_BODY]


def _network_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc}" if str(exc) else "could not connect"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
