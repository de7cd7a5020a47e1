"""Turning pending charges into one signed batch transaction per pass.

Under the (chain, relayer) lock, the oldest pending charges no transaction carries are claimed
(``FOR UPDATE SKIP LOCKED``), re-checked against policy and each pre-flighted alone with
``eth_call``: a revert there fails that charge with its reason before anything is signed. The
survivors go into one ``redeemDelegations`` call. One failing entry reverts a whole batch (two
charges of one delegation can each pass alone yet not together), so the batch is simulated too
and, if it would revert, cut to its longest prefix that does not; the rest wait for the next pass,
where their own pre-flight tells the truth. The transaction row is committed with the charges
linked to it, then broadcast.

An unreachable chain, an underfunded relayer or a spent hourly gas budget proves nothing about a
charge: it stays pending with that retryable reason, and the next pass tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import Clock, system_clock
from cyphera.signer import repository
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.errors import (
    ChainUnavailable,
    GasBudgetExhausted,
    PolicyRefusal,
    RelayerUnderfunded,
)
from cyphera.signer.models import SignerCharge, SignerTransaction
from cyphera.signer.policy import Redemption, check_policy
from cyphera.signer.preflight import Preflight, redeem_calldata
from cyphera.signer.rpc import CallReverted, RpcError
from cyphera.signer.schemas import FailureCode
from cyphera.signer.txmanager import TxManager, gas_limit_for

log = logging.getLogger(__name__)

Entry = tuple[SignerCharge, Redemption]


class ChargeProcessor:
    """Claims, pre-flights, batches and signs pending charges (see module doc)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        txmanager: TxManager,
        *,
        max_batch_size: int,
        clock: Clock = system_clock,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._txmanager = txmanager
        self._max_batch_size = max_batch_size
        self._clock = clock

    async def process(self, chain: ChainRuntime) -> bool:
        """One pass over `chain`'s pending charges; True when any charge changed."""
        relayer = self._txmanager.relayer
        preflight = Preflight(chain, relayer)
        created: SignerTransaction | None = None
        async with self._sessionmaker() as session, session.begin():
            await repository.lock_relayer(session, chain.chain_id, relayer)
            charges = await repository.claim_pending(
                session, chain.chain_id, relayer, self._max_batch_size
            )
            if not charges:
                return False
            try:
                ready = await self._screen(chain, preflight, charges)
                if ready:
                    created = await self._sign_batch(session, chain, preflight, ready)
            except (ChainUnavailable, RelayerUnderfunded, GasBudgetExhausted) as exc:
                code = FailureCode(exc.code)
                for charge in charges:
                    if charge.transaction_id is None and not charge.status.is_terminal:
                        charge.note_retryable(code, exc.message)
                log.warning(
                    "charges.waiting chain_id=%s count=%s reason=%s",
                    chain.chain_id,
                    len(charges),
                    code,
                )
        if created is not None:
            await self._txmanager.send(chain, created)
        return True

    async def _screen(
        self, chain: ChainRuntime, preflight: Preflight, charges: Sequence[SignerCharge]
    ) -> list[Entry]:
        """Charges that pass policy and their own pre-flight; the others are failed, proven.

        When the charges that pass policy simulate cleanly as one batch — the usual case — that
        one ``eth_call`` stands for all of theirs: each would go through, in the very batch that
        is sent. Only a batch that reverts has each charge simulated alone, to fail the ones
        that cannot go through with their own reason.
        """
        allowed: list[Entry] = []
        for charge in charges:
            try:
                redemption = check_policy(
                    charge.as_input(), network=chain.network, relayer=self._txmanager.relayer
                )
            except PolicyRefusal as refusal:
                self._fail(charge, refusal.code, refusal.message)
                continue
            allowed.append((charge, redemption))
        if len(allowed) > 1 and await preflight.simulate([r for _, r in allowed]) is None:
            return allowed
        ready: list[Entry] = []
        for charge, redemption in allowed:
            outcome = await preflight.check(redemption)
            if outcome is not None:
                self._fail(charge, *outcome)
                continue
            ready.append((charge, redemption))
        return ready

    def _fail(self, charge: SignerCharge, code: FailureCode, message: str) -> None:
        charge.fail(code, message, at=self._clock.now())
        log.info(
            "charge.failed idempotency_key=%s code=%s stage=preflight",
            charge.idempotency_key,
            code.value,
        )

    async def _sign_batch(
        self,
        session: AsyncSession,
        chain: ChainRuntime,
        preflight: Preflight,
        ready: list[Entry],
    ) -> SignerTransaction | None:
        batch = await self._longest_passing_prefix(preflight, ready)
        calldata = redeem_calldata([redemption for _, redemption in batch])
        try:
            estimate = await chain.rpc.estimate_gas(
                to=chain.delegation_manager, data=calldata, sender=self._txmanager.relayer
            )
        except CallReverted:
            # The chain moved between the simulation and the estimate: try again next pass.
            log.info("charges.batch_raced chain_id=%s size=%s", chain.chain_id, len(batch))
            return None
        except RpcError as exc:
            raise ChainUnavailable(
                f"chain {chain.chain_id}: gas estimate refused ({exc.code})"
            ) from exc
        fees = await self._txmanager.quote(chain)
        tx = await self._txmanager.create(
            session, chain, calldata=calldata, gas_limit=gas_limit_for(estimate), fees=fees
        )
        for charge, _ in batch:
            charge.transaction_id = tx.id
            charge.attempts += 1
            charge.failure_code = charge.failure_message = None
        log.info(
            "charges.batched chain_id=%s tx_hash=%s size=%s keys=%s",
            chain.chain_id,
            tx.tx_hash,
            len(batch),
            ",".join(charge.idempotency_key for charge, _ in batch),
        )
        return tx

    async def _longest_passing_prefix(
        self, preflight: Preflight, ready: list[Entry]
    ) -> list[Entry]:
        """`ready` itself if the whole batch simulates cleanly, else its longest prefix that does
        (binary search: O(log n) simulations; a prefix of one passed its own pre-flight)."""
        if len(ready) == 1 or await preflight.simulate([r for _, r in ready]) is None:
            return ready
        good, bad = 1, len(ready)
        while bad - good > 1:
            middle = (good + bad) // 2
            if await preflight.simulate([r for _, r in ready[:middle]]) is None:
                good = middle
            else:
                bad = middle
        log.info("charges.batch_split size=%s kept=%s", len(ready), good)
        return ready[:good]
