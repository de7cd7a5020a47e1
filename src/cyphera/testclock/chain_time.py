"""Moving the local chain's time with a test clock (anvil's ``evm_setNextBlockTimestamp``).

Only the local development network (`Network.is_local`) is ever touched, and only forwards: a
chain already at or past the instant is left alone (logged). The local chain is shared, so this
moves time for everything on it, not just one clock's subscriptions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import structlog

from cyphera.chain.models import Network
from cyphera.kit.clock import to_unix

log = structlog.get_logger(__name__)

RPC_TIMEOUT_SECONDS = 10.0


class ChainTimeError(Exception):
    """The local node refused or could not be reached."""


async def _rpc(client: httpx.AsyncClient, url: str, method: str, params: list[Any]) -> Any:
    try:
        response = await client.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        )
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ChainTimeError(f"{method} on {url} failed: {exc}") from exc
    if "error" in body:
        raise ChainTimeError(f"{method} on {url} failed: {body['error']}")
    return body.get("result")


async def latest_timestamp(client: httpx.AsyncClient, url: str) -> int:
    block = await _rpc(client, url, "eth_getBlockByNumber", ["latest", False])
    return int(block["timestamp"], 16)


async def move_to(network: Network, at: datetime) -> int | None:
    """Mine a block at `at` on the local `network` when its latest block is earlier.

    Returns the latest block's timestamp afterwards, or None for a network that is not local.
    """
    if not network.is_local or not network.rpc_urls:
        return None
    url = network.rpc_urls[0]
    target = to_unix(at)
    async with httpx.AsyncClient(timeout=RPC_TIMEOUT_SECONDS) as client:
        current = await latest_timestamp(client, url)
        if current >= target:
            if current > target:
                log.info("test_clock.chain_ahead", chain_time=current, clock_time=target)
            return current
        await _rpc(client, url, "evm_setNextBlockTimestamp", [target])
        await _rpc(client, url, "evm_mine", [])
        return await latest_timestamp(client, url)
