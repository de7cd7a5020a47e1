"""Reading chains over JSON-RPC from the API: the registry's endpoints, in failover order.

`ChainRpc.answers` yields each HTTP endpoint's JSON answer to one request until the caller has
what it needs; an endpoint that cannot be reached, or answers something that is not JSON, is
skipped. `ChainRpc.call` is an ``eth_call`` on the latest block: the return data of the first
endpoint that really answers, `ChainUnavailable` (503, safe to retry) when none does. Redirects
are never followed (an RPC URL is configuration, not something to be sent elsewhere by).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from eth_utils.address import to_checksum_address

from cyphera.chain.errors import ChainUnavailable, NetworkNotFound
from cyphera.chain.networks import NetworkRegistry

DEFAULT_TIMEOUT_SECONDS = 5.0
_HTTP_SCHEMES = ("http://", "https://")

log = structlog.get_logger(__name__)


class ChainRpc:
    """JSON-RPC reads through the registry's HTTP endpoints (websocket ones are skipped)."""

    def __init__(
        self,
        registry: NetworkRegistry | None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self.timeout_seconds = timeout_seconds
        self.transport = transport

    def urls(self, chain_id: int) -> tuple[str, ...]:
        if self.registry is None:
            return ()
        try:
            network = self.registry.by_chain_id(chain_id)
        except NetworkNotFound:
            return ()
        return tuple(url for url in network.rpc_urls if url.startswith(_HTTP_SCHEMES))

    async def answers(
        self, chain_id: int, method: str, params: list[Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """Each endpoint's answer to ``method(params)``, in failover order."""
        payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with httpx.AsyncClient(
            timeout=self.timeout_seconds, follow_redirects=False, transport=self.transport
        ) as http:
            for url in self.urls(chain_id):
                try:
                    response = await http.post(url, json=payload)
                    response.raise_for_status()
                    answer = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning(
                        "chain.rpc_failed",
                        chain_id=chain_id,
                        method=method,
                        error=type(exc).__name__,
                    )
                    continue
                if isinstance(answer, dict):
                    yield answer

    async def call(self, chain_id: int, *, to: str, data: bytes) -> bytes:
        """``eth_call`` of `data` on `to` at the latest block: the return data."""
        request = {"to": to_checksum_address(to), "data": "0x" + data.hex()}
        async for answer in self.answers(chain_id, "eth_call", [request, "latest"]):
            result = answer.get("result")
            if isinstance(result, str) and result.startswith("0x"):
                try:
                    return bytes.fromhex(result[2:])
                except ValueError:
                    continue
        raise ChainUnavailable(f"chain {chain_id} could not be read; retry shortly")
