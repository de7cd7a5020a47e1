"""The signer's operations as the gRPC servicer calls them (no protobuf here).

`redeem` persists each new charge — pending when it passes policy, failed with its reason when not
— in one commit, wakes the engine and waits for the outcome. Policy starts with the books: a
charge is accepted only when the shared database holds an in-flight payment under an active
permission that is exactly this charge (`repository.is_owed`), so a leaked signer token cannot
move funds the platform is not owed, even within what a customer's caveats would allow. A known idempotency key returns the
stored charge; reusing a key for a different request is a conflict. Persisting before anything is
signed is what lets the API retry freely after a timeout: asking again is always safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.signer import repository
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.engine import SignerEngine
from cyphera.signer.errors import (
    ChainNotServed,
    ChargeConflict,
    ChargeInvalid,
    ChargeNotFound,
    PolicyRefusal,
)
from cyphera.signer.models import SignerCharge
from cyphera.signer.policy import Redemption, check_policy, check_request_shape
from cyphera.signer.preflight import Preflight
from cyphera.signer.schemas import (
    ChargeInput,
    ChargeResult,
    ChargeStatus,
    FailureCode,
    PreflightResult,
    RelayerStatus,
)

log = logging.getLogger(__name__)

MAX_CHARGES_PER_CALL = 100
# Between engine passes, the database is re-read at least this often (another signer process
# sharing the database may be the one moving a charge on).
_WAIT_SLICE_SECONDS = 1.0


def _same_request(charge: SignerCharge, request: ChargeInput) -> bool:
    return (
        charge.chain_id == request.chain_id
        and charge.permission_context == request.permission_context
        and charge.token == request.token
        and charge.payee == request.payee
        and charge.amount == request.amount
    )


def _settled(result: ChargeResult) -> bool:
    """Terminal, or waiting on a retryable condition the caller should hear about now."""
    return result.is_terminal or (
        result.status is ChargeStatus.PENDING and result.failure_code is not None
    )


class SignerService:
    """Charges by idempotency key, pre-flights and relayer status (see module doc)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        engine: SignerEngine,
        chains: Mapping[int, ChainRuntime],
        *,
        relayer: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._engine = engine
        self._chains = chains
        self._relayer = relayer

    def _check(self, charge: ChargeInput) -> Redemption:
        """Policy for `charge`; an unserved chain is a policy violation like any other."""
        chain = self._chains.get(charge.chain_id)
        if chain is None:
            raise PolicyRefusal(
                FailureCode.POLICY_VIOLATION,
                f"chain {charge.chain_id} is not served by this signer",
            )
        return check_policy(charge, network=chain.network, relayer=self._relayer)

    async def redeem(
        self, charges: Sequence[ChargeInput], *, wait_seconds: float
    ) -> list[ChargeResult]:
        """Accept `charges` (idempotently) and wait up to `wait_seconds` for them to settle."""
        if not charges:
            raise ChargeInvalid("at least one charge is required", param="charges")
        if len(charges) > MAX_CHARGES_PER_CALL:
            raise ChargeInvalid(f"at most {MAX_CHARGES_PER_CALL} charges per call", param="charges")
        requests: dict[str, ChargeInput] = {}
        for raw in charges:
            charge = check_request_shape(raw)
            earlier = requests.setdefault(charge.idempotency_key, charge)
            if earlier != charge:
                raise ChargeInvalid(
                    f"idempotency key {charge.idempotency_key} appears twice with different charges",
                    param="idempotency_key",
                )
        async with self._sessionmaker() as session, session.begin():
            for key, request in requests.items():
                stored = await repository.get_charge(session, key)
                if stored is None:
                    owed = await repository.is_owed(session, request)
                    await repository.insert_charge_if_absent(
                        session, self._new_row(request, owed=owed)
                    )
                    # Re-read: a concurrent call may have inserted the key first.
                    stored = await repository.get_charge(session, key)
                if stored is None or not _same_request(stored, request):
                    raise ChargeConflict(
                        f"idempotency key {key} was already used for a different charge",
                        param="idempotency_key",
                    )
            results = await repository.charge_results(session, list(requests))
        self._engine.wake()
        results = await self._wait(list(requests), results, wait_seconds)
        return [results[charge.idempotency_key] for charge in charges]

    def _new_row(self, request: ChargeInput, *, owed: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "idempotency_key": request.idempotency_key,
            "chain_id": request.chain_id,
            "relayer": self._relayer,
            "permission_context": request.permission_context,
            "token": request.token,
            "payee": request.payee,
            "amount": request.amount,
            "attempts": 0,
        }
        try:
            if not owed:
                # Whatever the caveats allow, the relayer only collects what the books owe.
                raise PolicyRefusal(
                    FailureCode.POLICY_VIOLATION,
                    "no in-flight payment under an active permission matches this charge",
                )
            redemption = self._check(request)
        except PolicyRefusal as refusal:
            log.info(
                "charge.refused idempotency_key=%s code=%s", request.idempotency_key, refusal.code
            )
            return {
                **row,
                "status": ChargeStatus.FAILED,
                "failure_code": refusal.code.value,
                "failure_message": refusal.message[:500],
            }
        log.info("charge.accepted idempotency_key=%s", request.idempotency_key)
        return {
            **row,
            "status": ChargeStatus.PENDING,
            "delegator": redemption.delegator,
            "delegation_hash": "0x" + redemption.delegation_hash.hex(),
        }

    async def _wait(
        self, keys: list[str], results: dict[str, ChargeResult], wait_seconds: float
    ) -> dict[str, ChargeResult]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait_seconds, 0.0)
        waited = False
        while not all(results[key].is_terminal for key in keys):
            # A retryable reason recorded before this call may be stale: wait for one pass
            # before answering with it.
            if waited and all(_settled(results[key]) for key in keys):
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._engine.wait_for_pass(min(remaining, _WAIT_SLICE_SECONDS))
            waited = True
            async with self._sessionmaker() as session:
                results = await repository.charge_results(session, keys)
        return results

    async def get(self, idempotency_key: str) -> ChargeResult:
        """The charge `idempotency_key`; `ChargeNotFound` if it was never submitted."""
        async with self._sessionmaker() as session:
            results = await repository.charge_results(session, [idempotency_key])
        if idempotency_key not in results:
            raise ChargeNotFound(f"no charge with idempotency key {idempotency_key}")
        return results[idempotency_key]

    async def preflight(self, charge: ChargeInput) -> PreflightResult:
        """Would `charge` go through now? Policy first, then the chain."""
        shaped = check_request_shape(charge)
        try:
            redemption = self._check(shaped)
        except PolicyRefusal as refusal:
            return PreflightResult(
                ok=False, failure_code=refusal.code.value, failure_message=refusal.message
            )
        return await Preflight(self._chains[shaped.chain_id], self._relayer).report(redemption)

    async def relayer_status(self, chain_id: int) -> RelayerStatus:
        """The relayer on `chain_id`; `ChainNotServed` if this signer has no RPC for it."""
        chain = self._chains.get(chain_id)
        if chain is None:
            raise ChainNotServed(f"chain {chain_id} is not served by this signer", param="chain_id")
        balance = await chain.rpc.balance(self._relayer)
        nonce = await chain.rpc.transaction_count(self._relayer, "pending")
        async with self._sessionmaker() as session:
            in_flight = await repository.count_in_flight(session, chain_id, self._relayer)
        return RelayerStatus(
            chain_id=chain_id,
            address=self._relayer,
            balance_wei=balance,
            nonce=nonce,
            pending_transactions=in_flight,
        )
