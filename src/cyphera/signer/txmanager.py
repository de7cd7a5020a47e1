"""Nonces, fees, signing, persistence and broadcasting of the relayer's transactions.

The rules that make a crash at any point harmless:

1. A nonce is allocated under a PostgreSQL advisory lock on (chain, relayer), held until the
   transaction row is committed: ``next = max(chain's pending nonce, highest nonce we ever signed
   + 1)``. Any number of signer processes can share a database; only one writes per key.
2. The signed raw bytes, hash and nonce are committed *before* the first broadcast. A retry, and
   the start-up resume, re-send exactly those bytes, so one nonce carries one transfer.
3. "Already known" and "nonce too low" after a send are not failures: the node has it, or the nonce
   was used (by this transaction, as the tracker then proves from receipts, or by another one, in
   which case ours can never execute and its charges are sent again).
4. A fee bump is a new row with the same nonce and ``replaces_id``; the old row becomes
   ``replaced`` in the same commit. Either copy may end up mined; the tracker follows whichever.

Fees are EIP-1559: ``maxFeePerGas = 2 * base fee + priority fee`` (room for the base fee to double
while the transaction waits), never above the chain's ceiling.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.signer import repository
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.errors import ChainUnavailable, GasBudgetExhausted, RelayerUnderfunded
from cyphera.signer.keys import RelayerKey
from cyphera.signer.metrics import FEE_BUMPS
from cyphera.signer.models import SignerCharge, SignerTransaction, TxStatus
from cyphera.signer.rpc import RpcError
from cyphera.signer.schemas import ChargeStatus, FailureCode

log = logging.getLogger(__name__)

DEFAULT_PRIORITY_FEE_WEI = 10**9
# geth, erigon and anvil refuse a same-nonce replacement unless both fees rise by at least 10%.
REPLACEMENT_BUMP_NUMERATOR, REPLACEMENT_BUMP_DENOMINATOR = 1125, 1000
GAS_LIMIT_MARGIN_NUMERATOR, GAS_LIMIT_MARGIN_DENOMINATOR = 6, 5
GAS_LIMIT_BUFFER = 20_000
MAX_IMMEDIATE_REPRICES = 3
# The gas budget (`ChainRuntime.gas_budget_per_hour`) is counted over this sliding window.
GAS_BUDGET_WINDOW_SECONDS = 3600

TxHook = Callable[[SignerTransaction], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Fees:
    """An EIP-1559 fee quote; ``base_fee`` is the latest block's, for the ceiling check."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    base_fee: int = 0


class FeeOracle(Protocol):
    """Where fee quotes come from (a seam: tests price a transaction too low through it)."""

    async def quote(self, chain: ChainRuntime) -> Fees: ...


class NetworkFeeOracle:
    """``2 * latest base fee + the node's suggested priority fee``."""

    async def quote(self, chain: ChainRuntime) -> Fees:
        head = await chain.rpc.latest_block()
        try:
            priority = await chain.rpc.max_priority_fee()
        except RpcError:
            priority = DEFAULT_PRIORITY_FEE_WEI  # pre-1559 style nodes lack the method
        return Fees(
            max_fee_per_gas=2 * head.base_fee + priority,
            max_priority_fee_per_gas=priority,
            base_fee=head.base_fee,
        )


class BroadcastOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # sent, or the node already had it
    NONCE_USED = "nonce_used"  # the nonce is spent: by this transaction or by another one
    UNDERPRICED = "underpriced"  # needs a fee bump before any node takes it
    UNDERFUNDED = "underfunded"
    UNAVAILABLE = "unavailable"
    REJECTED = "rejected"  # refused for another reason; retried later as is


# What a pending charge reports while its transaction cannot get into a node's pool.
_WAITING_CODES = {
    BroadcastOutcome.UNDERFUNDED: FailureCode.RELAYER_UNDERFUNDED,
    BroadcastOutcome.UNAVAILABLE: FailureCode.CHAIN_UNAVAILABLE,
    # Still underpriced after the replacements the fee ceiling allows: waiting on network fees.
    BroadcastOutcome.UNDERPRICED: FailureCode.CHAIN_UNAVAILABLE,
}


def _classify_send_error(message: str) -> BroadcastOutcome:
    text = message.lower()
    if any(
        s in text
        for s in ("already known", "known transaction", "already imported", "already exists")
    ):
        return BroadcastOutcome.ACCEPTED
    if "replacement transaction underpriced" in text:
        # The pool holds another copy of this nonce: ours (a fee-bumped sibling) as far as we know.
        return BroadcastOutcome.ACCEPTED
    if "nonce too low" in text or "nonce has already been used" in text or "oldnonce" in text:
        return BroadcastOutcome.NONCE_USED
    if "insufficient funds" in text:
        return BroadcastOutcome.UNDERFUNDED
    if any(
        s in text
        for s in ("underpriced", "less than block base fee", "fee cap", "fee too low", "feecap")
    ):
        return BroadcastOutcome.UNDERPRICED
    return BroadcastOutcome.REJECTED


def cap_fees(fees: Fees, ceiling: int) -> Fees:
    """`fees` with maxFeePerGas at most `ceiling` and the priority fee at most maxFeePerGas."""
    max_fee = min(fees.max_fee_per_gas, ceiling)
    return Fees(
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=min(fees.max_priority_fee_per_gas, max_fee),
        base_fee=fees.base_fee,
    )


def gas_limit_for(estimate: int) -> int:
    """A gas limit from an estimate: enforcers' storage writes vary a little between blocks."""
    return estimate * GAS_LIMIT_MARGIN_NUMERATOR // GAS_LIMIT_MARGIN_DENOMINATOR + GAS_LIMIT_BUFFER


def _bumped(value: int) -> int:
    return math.ceil(value * REPLACEMENT_BUMP_NUMERATOR / REPLACEMENT_BUMP_DENOMINATOR) + 1


class TxManager:
    """Creates, persists, broadcasts and replaces the relayer's transactions.

    `before_broadcast` and `after_broadcast` are fault-injection seams: tests pass a hook that
    hangs or raises there to kill the signer between persisting and sending, or between sending
    and recording the send.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key: RelayerKey,
        *,
        fee_oracle: FeeOracle | None = None,
        before_broadcast: TxHook | None = None,
        after_broadcast: TxHook | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._key = key
        self._fees = fee_oracle or NetworkFeeOracle()
        self._before_broadcast = before_broadcast
        self._after_broadcast = after_broadcast

    @property
    def relayer(self) -> str:
        return self._key.address

    async def quote(self, chain: ChainRuntime) -> Fees:
        """Current fees for `chain`, capped; `ChainUnavailable` when the base fee alone is above
        the ceiling (waiting is cheaper than overpaying, and the charge stays pending)."""
        fees = await self._fees.quote(chain)
        if fees.base_fee >= chain.max_fee_ceiling:
            raise ChainUnavailable(
                f"chain {chain.chain_id}: the base fee is above the configured fee ceiling"
            )
        return cap_fees(fees, chain.max_fee_ceiling)

    async def create(
        self,
        session: AsyncSession,
        chain: ChainRuntime,
        *,
        calldata: bytes,
        gas_limit: int,
        fees: Fees,
    ) -> SignerTransaction:
        """Allocate a nonce, sign, and add the transaction row (status ``signed``) to `session`.

        The caller holds `repository.lock_relayer` in this database transaction and commits it
        before calling `broadcast`.
        """
        committed = await repository.gas_reserved_within(
            session, chain.chain_id, self.relayer, GAS_BUDGET_WINDOW_SECONDS
        )
        if committed + gas_limit > chain.gas_budget_per_hour:
            raise GasBudgetExhausted(
                f"relayer {self.relayer} signed {committed} gas on chain {chain.chain_id} in the "
                f"last hour; {gas_limit} more would pass the budget of {chain.gas_budget_per_hour}"
            )
        balance = await chain.rpc.balance(self.relayer)
        if balance < gas_limit * fees.max_fee_per_gas:
            raise RelayerUnderfunded(
                f"relayer {self.relayer} holds {balance} wei on chain {chain.chain_id}; "
                f"this transaction may cost up to {gas_limit * fees.max_fee_per_gas} wei"
            )
        chain_nonce = await chain.rpc.transaction_count(self.relayer, "pending")
        highest = await repository.highest_nonce(session, chain.chain_id, self.relayer)
        nonce = max(chain_nonce, -1 if highest is None else highest + 1)
        tx = self._sign(chain, nonce=nonce, calldata=calldata, gas_limit=gas_limit, fees=fees)
        session.add(tx)
        await session.flush()
        log.info(
            "tx.signed chain_id=%s nonce=%s tx_hash=%s max_fee_per_gas=%s",
            chain.chain_id,
            nonce,
            tx.tx_hash,
            fees.max_fee_per_gas,
        )
        return tx

    def _sign(
        self, chain: ChainRuntime, *, nonce: int, calldata: bytes, gas_limit: int, fees: Fees
    ) -> SignerTransaction:
        to = chain.delegation_manager
        signed = self._key.sign_transaction(
            {
                "type": 2,
                "chainId": chain.chain_id,
                "nonce": nonce,
                "to": to,
                "value": 0,
                "data": calldata,
                "gas": gas_limit,
                "maxFeePerGas": fees.max_fee_per_gas,
                "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
                "accessList": [],
            }
        )
        return SignerTransaction(
            chain_id=chain.chain_id,
            relayer=self.relayer,
            nonce=nonce,
            to_address=to,
            calldata=calldata,
            gas_limit=gas_limit,
            max_fee_per_gas=fees.max_fee_per_gas,
            max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            raw_transaction=signed.raw,
            tx_hash=signed.tx_hash,
            status=TxStatus.SIGNED,
            broadcast_count=0,
        )

    async def replace(
        self, session: AsyncSession, chain: ChainRuntime, tx: SignerTransaction
    ) -> SignerTransaction | None:
        """A fee-bumped copy of `tx` (same nonce and calldata), or None if the ceiling forbids it.

        The caller holds the relayer lock; `tx` becomes ``replaced`` and its charges move to the
        copy, in the caller's database transaction.
        """
        quote = await self._fees.quote(chain)
        priority = max(_bumped(tx.max_priority_fee_per_gas), quote.max_priority_fee_per_gas)
        max_fee = max(_bumped(tx.max_fee_per_gas), quote.max_fee_per_gas, priority)
        if max_fee > chain.max_fee_ceiling:
            log.warning(
                "tx.replacement_capped chain_id=%s nonce=%s tx_hash=%s ceiling=%s",
                tx.chain_id,
                tx.nonce,
                tx.tx_hash,
                chain.max_fee_ceiling,
            )
            return None
        copy = self._sign(
            chain,
            nonce=tx.nonce,
            calldata=tx.calldata,
            gas_limit=tx.gas_limit,
            fees=Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=priority),
        )
        copy.replaces_id = tx.id
        # The old row leaves the live-nonce unique index before the copy enters it.
        tx.status = TxStatus.REPLACED
        await session.flush()
        session.add(copy)
        await session.flush()
        await repository.move_charges(session, tx.id, copy.id)
        log.info(
            "tx.replaced chain_id=%s nonce=%s old_tx_hash=%s tx_hash=%s max_fee_per_gas=%s",
            tx.chain_id,
            tx.nonce,
            tx.tx_hash,
            copy.tx_hash,
            max_fee,
        )
        FEE_BUMPS.labels(chain.network.key, self.relayer).inc()
        return copy

    async def send(self, chain: ChainRuntime, tx: SignerTransaction) -> BroadcastOutcome:
        """Broadcast `tx`; when nodes refuse it as underpriced, replace it with a higher fee and
        send the copy (a few times at most: the tracker keeps bumping stuck ones later)."""
        outcome = await self.broadcast(chain, tx)
        for _ in range(MAX_IMMEDIATE_REPRICES):
            if outcome is not BroadcastOutcome.UNDERPRICED:
                break
            async with self._sessionmaker() as session, session.begin():
                await repository.lock_relayer(session, chain.chain_id, self.relayer)
                current = await session.get(
                    SignerTransaction, tx.id, with_for_update=True, populate_existing=True
                )
                if current is None or current.status not in (TxStatus.SIGNED, TxStatus.BROADCAST):
                    break
                copy = await self.replace(session, chain, current)
            if copy is None:
                break
            tx = copy
            outcome = await self.broadcast(chain, tx)
        return outcome

    async def broadcast(self, chain: ChainRuntime, tx: SignerTransaction) -> BroadcastOutcome:
        """Send `tx`'s stored bytes (it must be committed) and record what happened."""
        if self._before_broadcast is not None:
            await self._before_broadcast(tx)
        try:
            await chain.rpc.send_raw_transaction(tx.raw_transaction)
            outcome = BroadcastOutcome.ACCEPTED
            error: str | None = None
        except RpcError as exc:
            outcome = _classify_send_error(exc.message)
            error = exc.message[:500]
        except ChainUnavailable as exc:
            outcome, error = BroadcastOutcome.UNAVAILABLE, exc.message
        if self._after_broadcast is not None:
            await self._after_broadcast(tx)
        await self._record_broadcast(tx, outcome, error)
        log.info(
            "tx.broadcast chain_id=%s nonce=%s tx_hash=%s outcome=%s",
            tx.chain_id,
            tx.nonce,
            tx.tx_hash,
            outcome.value,
        )
        return outcome

    async def _record_broadcast(
        self, tx: SignerTransaction, outcome: BroadcastOutcome, error: str | None
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            sent = outcome in (BroadcastOutcome.ACCEPTED, BroadcastOutcome.NONCE_USED)
            values: dict[str, object] = {"last_error": error}
            if sent:
                values["broadcast_count"] = SignerTransaction.broadcast_count + 1
                values["broadcast_at"] = func.now()
            await session.execute(
                update(SignerTransaction).where(SignerTransaction.id == tx.id).values(**values)
            )
            if sent:
                await session.execute(
                    update(SignerTransaction)
                    .where(
                        SignerTransaction.id == tx.id, SignerTransaction.status == TxStatus.SIGNED
                    )
                    .values(status=TxStatus.BROADCAST)
                )
                await session.execute(
                    update(SignerCharge)
                    .where(
                        SignerCharge.transaction_id == tx.id,
                        SignerCharge.status == ChargeStatus.PENDING,
                    )
                    .values(status=ChargeStatus.SUBMITTED, failure_code=None, failure_message=None)
                )
            elif outcome in _WAITING_CODES:
                await session.execute(
                    update(SignerCharge)
                    .where(
                        SignerCharge.transaction_id == tx.id,
                        SignerCharge.status == ChargeStatus.PENDING,
                    )
                    .values(failure_code=_WAITING_CODES[outcome].value, failure_message=error)
                )
        if sent and tx.status is TxStatus.SIGNED:
            tx.status = TxStatus.BROADCAST
