"""`ChargeGateway` over the signer's gRPC client: the production wiring of billing to the chain."""

from __future__ import annotations

from cyphera.config import SignerClientSettings
from cyphera.payment.gateway import ChargeOrder, ChargeOutcome, ChargeState
from cyphera.signer.client import SignerClient
from cyphera.signer.schemas import ChargeInput, ChargeResult, ChargeStatus

_STATES = {
    ChargeStatus.PENDING: ChargeState.PENDING,
    ChargeStatus.SUBMITTED: ChargeState.SUBMITTED,
    ChargeStatus.CONFIRMED: ChargeState.CONFIRMED,
    ChargeStatus.FAILED: ChargeState.FAILED,
}


def _outcome(result: ChargeResult) -> ChargeOutcome:
    return ChargeOutcome(
        key=result.idempotency_key,
        state=_STATES[result.status],
        tx_hash=result.tx_hash,
        block_number=result.block_number,
        gas_used=result.gas_used,
        failure_code=result.failure_code,
        failure_message=result.failure_message,
    )


class SignerGateway:
    """Charges through the signer; the relayer address per chain is asked once and cached."""

    def __init__(self, client: SignerClient) -> None:
        self._client = client
        self._redeemers: dict[int, str] = {}

    @classmethod
    def from_settings(cls, settings: SignerClientSettings) -> SignerGateway:
        return cls(SignerClient.from_settings(settings))

    async def charge(self, order: ChargeOrder, *, wait_seconds: int) -> ChargeOutcome:
        [result] = await self._client.redeem_charges(
            [
                ChargeInput(
                    idempotency_key=order.key,
                    chain_id=order.chain_id,
                    permission_context=order.permission_context,
                    token=order.token,
                    payee=order.payee,
                    amount=order.amount,
                )
            ],
            wait_seconds=wait_seconds,
        )
        return _outcome(result)

    async def lookup(self, key: str) -> ChargeOutcome | None:
        result = await self._client.get_charge(key)
        return None if result is None else _outcome(result)

    async def redeemer(self, chain_id: int) -> str:
        if chain_id not in self._redeemers:
            self._redeemers[chain_id] = (await self._client.relayer_status(chain_id)).address
        return self._redeemers[chain_id]

    async def close(self) -> None:
        await self._client.close()
