"""Following signed transactions to finality: receipts, confirmation depth, reorgs, drops, bumps.

Each pass, under the (chain, relayer) lock, looks at every transaction still in flight and every
confirmed one recent enough to be reorged, and moves it (and the charges it carries) on:

- no receipt, status ``signed`` → send the stored bytes (start-up resume, or a failed send);
- no receipt, status ``broadcast`` → re-send the same bytes now and then (nodes forget
  transactions); once older than ``stuck_after`` → replace it with a higher fee;
- no receipt for any copy while the nonce is used at confirmation depth → the nonce went to
  another transaction: ours can never execute, so it is ``failed`` and its charges are sent again;
- no receipt, status ``mined``/``confirmed`` → reorged out: back to ``broadcast``, charges back to
  ``submitted``, the same bytes sent again;
- a receipt → ``mined``; at depth → ``confirmed`` with each charge matched to its Transfer log, or
  ``failed`` (reverted) with each charge re-checked: a charge that would still revert fails with
  that reason, the others are sent again (a reverted transaction moved nothing).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from eth_utils.crypto import keccak
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import Clock, system_clock
from cyphera.signer import repository
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.errors import PolicyRefusal
from cyphera.signer.metrics import CONFIRMATION_LAG
from cyphera.signer.models import SignerCharge, SignerTransaction, TxStatus
from cyphera.signer.policy import check_policy
from cyphera.signer.preflight import Preflight
from cyphera.signer.rpc import Log, Receipt
from cyphera.signer.schemas import ChargeStatus, FailureCode
from cyphera.signer.txmanager import TxManager

log = logging.getLogger(__name__)

TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
# A charge whose transactions keep reverting although its pre-flight passes is failed after this
# many transactions rather than retried forever (each costs the relayer gas).
MAX_CHARGE_ATTEMPTS = 3


def _topic_address(topic: bytes) -> str:
    return "0x" + topic[-20:].hex()


def _take_transfer(logs: list[Log], charge: SignerCharge) -> bool:
    """Remove and report the Transfer log that pays `charge` (token, from, to and amount match)."""
    for index, entry in enumerate(logs):
        if (
            len(entry.topics) == 3
            and entry.topics[0] == TRANSFER_TOPIC
            and entry.address.lower() == charge.token.lower()
            and _topic_address(entry.topics[1]) == (charge.delegator or "").lower()
            and _topic_address(entry.topics[2]) == charge.payee.lower()
            and int.from_bytes(entry.data, "big") == charge.amount
        ):
            del logs[index]
            return True
    return False


class Tracker:
    """Moves the relayer's transactions on one chain towards a final state (see module doc)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        txmanager: TxManager,
        *,
        stuck_after_seconds: float,
        reorg_watch_blocks: int,
        clock: Clock = system_clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._txmanager = txmanager
        self._stuck_after = timedelta(seconds=stuck_after_seconds)
        self._rebroadcast_after = timedelta(seconds=min(stuck_after_seconds / 4, 30.0))
        self._reorg_watch_blocks = reorg_watch_blocks
        self._clock = clock

    async def track(self, chain: ChainRuntime) -> bool:
        """One pass over `chain`; True when anything changed."""
        relayer = self._txmanager.relayer
        to_send: list[SignerTransaction] = []
        changed = False
        async with self._sessionmaker() as session, session.begin():
            await repository.lock_relayer(session, chain.chain_id, relayer)
            head = await chain.rpc.block_number()
            transactions = await repository.tracked_transactions(
                session,
                chain.chain_id,
                relayer,
                watch_from_block=head - self._reorg_watch_blocks,
            )
            if not transactions:
                return False
            depth_block = max(head - chain.network.confirmations + 1, 0)
            # Nonces used as of the confirmation-depth block: a nonce used there by something that
            # is not one of our copies will not come back to us.
            used_nonces = await chain.rpc.transaction_count(relayer, hex(depth_block))
            for tx in transactions:
                changed |= await self._refresh(
                    session,
                    chain,
                    tx,
                    depth_block=depth_block,
                    used_nonces=used_nonces,
                    to_send=to_send,
                )
        for tx in to_send:
            await self._txmanager.send(chain, tx)
        return changed or bool(to_send)

    async def _refresh(
        self,
        session: AsyncSession,
        chain: ChainRuntime,
        tx: SignerTransaction,
        *,
        depth_block: int,
        used_nonces: int,
        to_send: list[SignerTransaction],
    ) -> bool:
        copies = [tx]
        if tx.status is not TxStatus.CONFIRMED:
            copies += await repository.replaced_copies(session, tx)
        for copy in copies:
            receipt = await chain.rpc.receipt(copy.tx_hash)
            if receipt is not None:
                if copy is not tx:
                    await self._promote(session, lost=tx, won=copy)
                return await self._apply_receipt(session, chain, copy, receipt, depth_block)
        return await self._without_receipt(session, chain, tx, used_nonces, to_send)

    async def _promote(
        self, session: AsyncSession, *, lost: SignerTransaction, won: SignerTransaction
    ) -> None:
        # An older copy was mined, not the fee-bumped one: the live-nonce index allows one row.
        lost.status = TxStatus.REPLACED
        await session.flush()
        won.status = TxStatus.BROADCAST
        await session.flush()
        await repository.move_charges(session, lost.id, won.id)
        log.info(
            "tx.copy_mined nonce=%s tx_hash=%s replaced=%s", won.nonce, won.tx_hash, lost.tx_hash
        )

    async def _without_receipt(
        self,
        session: AsyncSession,
        chain: ChainRuntime,
        tx: SignerTransaction,
        used_nonces: int,
        to_send: list[SignerTransaction],
    ) -> bool:
        now = self._clock.now()
        if tx.status in (TxStatus.MINED, TxStatus.CONFIRMED):
            log.warning(
                "tx.reorged chain_id=%s nonce=%s tx_hash=%s block=%s",
                tx.chain_id,
                tx.nonce,
                tx.tx_hash,
                tx.receipt_block_number,
            )
            tx.status = TxStatus.BROADCAST
            tx.receipt_block_number = tx.receipt_block_hash = None
            tx.receipt_gas_used = tx.receipt_status = None
            tx.mined_at = tx.finalized_at = None
            for charge in await repository.charges_of(session, tx.id):
                if charge.status in (ChargeStatus.CONFIRMED, ChargeStatus.SUBMITTED):
                    charge.status = ChargeStatus.SUBMITTED
                    charge.finalized_at = None
            to_send.append(tx)
            return True
        if used_nonces > tx.nonce:
            log.warning(
                "tx.dropped chain_id=%s nonce=%s tx_hash=%s reason=nonce_used_elsewhere",
                tx.chain_id,
                tx.nonce,
                tx.tx_hash,
            )
            tx.status = TxStatus.FAILED
            tx.last_error = "dropped: the nonce was used by another transaction"
            tx.finalized_at = now
            for charge in await repository.charges_of(session, tx.id):
                charge.status = ChargeStatus.PENDING
                charge.transaction_id = None
            return True
        if tx.status is TxStatus.SIGNED:
            to_send.append(tx)
            return False
        if now - tx.created_at > self._stuck_after:
            copy = await self._txmanager.replace(session, chain, tx)
            if copy is not None:
                to_send.append(copy)
                return True
        if tx.broadcast_at is None or now - tx.broadcast_at > self._rebroadcast_after:
            to_send.append(tx)
        return False

    async def _apply_receipt(
        self,
        session: AsyncSession,
        chain: ChainRuntime,
        tx: SignerTransaction,
        receipt: Receipt,
        depth_block: int,
    ) -> bool:
        changed = False
        if tx.receipt_block_hash != receipt.block_hash:
            was_confirmed = tx.status is TxStatus.CONFIRMED
            tx.receipt_block_number = receipt.block_number
            tx.receipt_block_hash = receipt.block_hash
            tx.receipt_gas_used = receipt.gas_used
            tx.receipt_status = receipt.status
            tx.mined_at = self._clock.now()
            if not was_confirmed or receipt.block_number > depth_block:
                # Re-mined in a block not yet deep enough: it must earn its depth again.
                tx.status = TxStatus.MINED
            changed = True
            for charge in await repository.charges_of(session, tx.id):
                if charge.status is ChargeStatus.PENDING or (
                    tx.status is TxStatus.MINED and charge.status is ChargeStatus.CONFIRMED
                ):
                    charge.status = ChargeStatus.SUBMITTED
                    charge.failure_code = charge.failure_message = None
                    charge.finalized_at = None
            log.info(
                "tx.mined chain_id=%s nonce=%s tx_hash=%s block=%s status=%s",
                tx.chain_id,
                tx.nonce,
                tx.tx_hash,
                receipt.block_number,
                receipt.status,
            )
        if tx.status is TxStatus.MINED and receipt.block_number <= depth_block:
            await self._finalize(session, chain, tx, receipt)
            changed = True
        return changed

    async def _finalize(
        self, session: AsyncSession, chain: ChainRuntime, tx: SignerTransaction, receipt: Receipt
    ) -> None:
        now = self._clock.now()
        tx.finalized_at = now
        charges = await repository.charges_of(session, tx.id)
        if receipt.status == 1:
            tx.status = TxStatus.CONFIRMED
            CONFIRMATION_LAG.labels(chain.network.key).observe(
                (now - tx.created_at).total_seconds()
            )
            logs = list(receipt.logs)
            for charge in charges:
                if _take_transfer(logs, charge):
                    charge.status = ChargeStatus.CONFIRMED
                    charge.failure_code = charge.failure_message = None
                    charge.finalized_at = now
                    log.info(
                        "charge.confirmed idempotency_key=%s tx_hash=%s",
                        charge.idempotency_key,
                        tx.tx_hash,
                    )
                else:
                    # Cannot happen with a standard ERC-20 (a batch reverts as a whole); if it
                    # does, no Transfer means no money moved for this charge.
                    charge.fail(
                        FailureCode.TRANSACTION_REVERTED,
                        "the transaction succeeded but holds no transfer for this charge",
                        at=now,
                    )
                    log.error(
                        "charge.transfer_missing idempotency_key=%s tx_hash=%s",
                        charge.idempotency_key,
                        tx.tx_hash,
                    )
            return
        tx.status = TxStatus.FAILED
        log.warning(
            "tx.reverted chain_id=%s nonce=%s tx_hash=%s", tx.chain_id, tx.nonce, tx.tx_hash
        )
        for charge in charges:
            await self._after_revert(chain, charge)

    async def _after_revert(self, chain: ChainRuntime, charge: SignerCharge) -> None:
        now = self._clock.now()
        try:
            redemption = check_policy(
                charge.as_input(), network=chain.network, relayer=self._txmanager.relayer
            )
        except PolicyRefusal as refusal:
            charge.fail(refusal.code, refusal.message, at=now)
            return
        outcome = await Preflight(chain, self._txmanager.relayer).check(redemption)
        if outcome is not None:
            charge.fail(outcome[0], outcome[1], at=now)
        elif charge.attempts >= MAX_CHARGE_ATTEMPTS:
            charge.fail(
                FailureCode.TRANSACTION_REVERTED,
                f"{charge.attempts} transactions carrying this charge reverted",
                at=now,
            )
        else:
            charge.status = ChargeStatus.PENDING
            charge.transaction_id = None
            return
        log.info(
            "charge.failed idempotency_key=%s code=%s", charge.idempotency_key, charge.failure_code
        )
