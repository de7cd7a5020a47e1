"""Everything ``cyphera signer`` exposes on its metrics listener (``CYPHERA_SIGNER_METRICS_PORT``).

``network`` is the registry's key (``base``, ``local``); ``relayer`` the relayer's address (ours,
and few). Read every ``CYPHERA_SIGNER_METRICS_REFRESH_SECONDS`` (15 s) by `SignerMetrics.refresh`,
from the signer's tables and each chain's RPC, never during a scrape:

- ``cyphera_signer_pending_transactions``: transactions signed and not yet confirmed (signed,
  broadcast, or mined short of the confirmation depth);
- ``cyphera_signer_nonce_gap``: the next nonce by our books (highest signed + 1) minus the chain's
  pending nonce. Above 0: transactions we signed that the node does not hold (lost from its
  pool; the tracker re-sends them); below 0: nonces used by something other than this signer;
- ``cyphera_signer_relayer_balance_wei``: the relayer's native balance (float: approximate past
  2**53 wei, exact enough to alert on).

Counted as things happen: ``cyphera_signer_fee_bumps_total`` (a stuck or underpriced
transaction replaced by a higher-fee copy, `txmanager`) and
``cyphera_signer_confirmation_lag_seconds`` (from signing the transaction that was mined —
persisted just before its first broadcast; a fee-bumped copy counts from its own signing — to
its confirmation at depth, `tracker`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.metrics import GaugeTable
from cyphera.signer import repository
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.errors import ChainUnavailable
from cyphera.signer.rpc import RpcError

log = logging.getLogger(__name__)

LABELS = ["network", "relayer"]

PENDING_TRANSACTIONS = Gauge(
    "cyphera_signer_pending_transactions",
    "Relayer transactions signed and not yet confirmed at depth.",
    LABELS,
)
NONCE_GAP = Gauge(
    "cyphera_signer_nonce_gap",
    "Next nonce by the signer's books minus the chain's pending nonce for the relayer.",
    LABELS,
)
RELAYER_BALANCE = Gauge(
    "cyphera_signer_relayer_balance_wei", "The relayer's native balance, in wei.", LABELS
)
FEE_BUMPS = Counter(
    "cyphera_signer_fee_bumps", "Transactions replaced by a higher-fee copy.", LABELS
)
CONFIRMATION_LAG = Histogram(
    "cyphera_signer_confirmation_lag_seconds",
    "Seconds from signing a transaction to its confirmation at the network's depth.",
    ["network"],
    buckets=(1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)


class SignerMetrics:
    """The gauges read from the books and the chains, for one relayer."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        chains: Mapping[int, ChainRuntime],
        relayer: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._chains = chains
        self._relayer = relayer
        self._pending = GaugeTable(PENDING_TRANSACTIONS)
        self._gap = GaugeTable(NONCE_GAP)
        self._balance = GaugeTable(RELAYER_BALANCE)

    async def refresh(self) -> None:
        pending: dict[tuple[str, ...], float] = {}
        gap: dict[tuple[str, ...], float] = {}
        balance: dict[tuple[str, ...], float] = {}
        async with self._sessionmaker() as session:
            for chain_id, chain in self._chains.items():
                labels = (chain.network.key, self._relayer)
                pending[labels] = await repository.count_in_flight(session, chain_id, self._relayer)
                highest = await repository.highest_nonce(session, chain_id, self._relayer)
                try:
                    chain_nonce = await chain.rpc.transaction_count(self._relayer, "pending")
                    balance[labels] = await chain.rpc.balance(self._relayer)
                except (ChainUnavailable, RpcError):
                    # An unreachable chain drops its chain-read series rather than show stale ones.
                    log.warning("metrics.chain_unreadable chain_id=%s", chain_id)
                    continue
                gap[labels] = (0 if highest is None else highest + 1) - chain_nonce
        self._pending.update(pending)
        self._gap.update(gap)
        self._balance.update(balance)
