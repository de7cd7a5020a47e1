"""The chains this signer serves: a registry network plus an RPC client and a fee ceiling each.

A network is served when the registry has RPC URLs for it (``CYPHERA_RPC_<NETWORK>``); a charge
for any other chain is refused by policy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from cyphera.chain.models import Network
from cyphera.chain.networks import NetworkRegistry
from cyphera.signer.rpc import RpcClient

log = logging.getLogger(__name__)

_HTTP_SCHEMES = ("http://", "https://")
# What the relayer may commit to (signed gas limits) per chain in any hour: about 3,800 batched
# charges at 131,362 gas each. A bound on what a leaked signer token, or a bug, could burn.
DEFAULT_GAS_BUDGET_PER_HOUR = 500_000_000


@dataclass(frozen=True, slots=True)
class ChainRuntime:
    """One served chain: its registry entry, RPC client, maxFeePerGas ceiling (wei) and the gas
    the relayer may commit to in any hour."""

    network: Network
    rpc: RpcClient
    max_fee_ceiling: int
    gas_budget_per_hour: int = DEFAULT_GAS_BUDGET_PER_HOUR

    @property
    def chain_id(self) -> int:
        return self.network.chain_id

    @property
    def delegation_manager(self) -> str:
        return self.network.framework.delegation_manager


def build_chains(
    registry: NetworkRegistry,
    *,
    fee_ceilings: Mapping[int, int],
    default_fee_ceiling: int,
    rpc_timeout_seconds: float,
    gas_budgets: Mapping[int, int] | None = None,
    default_gas_budget: int = DEFAULT_GAS_BUDGET_PER_HOUR,
) -> dict[int, ChainRuntime]:
    """A runtime for every registry network with RPC URLs, by chain id."""
    chains: dict[int, ChainRuntime] = {}
    for network in registry:
        # The signer speaks JSON-RPC over HTTP only; websocket URLs serve the chain watcher.
        urls = tuple(url for url in network.rpc_urls if url.startswith(_HTTP_SCHEMES))
        if len(urls) < len(network.rpc_urls):
            log.warning("signer.rpc_urls_skipped chain_id=%s reason=not_http", network.chain_id)
        if not urls:
            continue
        chains[network.chain_id] = ChainRuntime(
            network=network,
            rpc=RpcClient(urls, chain_id=network.chain_id, timeout_seconds=rpc_timeout_seconds),
            max_fee_ceiling=fee_ceilings.get(network.chain_id, default_fee_ceiling),
            gas_budget_per_hour=(gas_budgets or {}).get(network.chain_id, default_gas_budget),
        )
        log.info("signer.chain_served chain_id=%s network=%s", network.chain_id, network.key)
    return chains


async def close_chains(chains: Mapping[int, ChainRuntime]) -> None:
    """Close every RPC client."""
    for chain in chains.values():
        await chain.rpc.aclose()
