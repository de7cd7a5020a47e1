"""The transaction manager's harder paths: fee bumps, reorgs, dropped nonces, mined reverts."""

from __future__ import annotations

import asyncio
import dataclasses

from cyphera.chain.devnet.helpers import rpc
from cyphera.chain.networks import NetworkRegistry
from cyphera.signer.chains import ChainRuntime
from cyphera.signer.models import SignerTransaction, TxStatus
from cyphera.signer.schemas import ChargeStatus, FailureCode
from cyphera.signer.txmanager import Fees, NetworkFeeOracle
from tests.signer.conftest import USDC, SignerWorld, StartSigner


class LowballOnce:
    """Quotes a fee far below the base fee the first time (a transaction priced too low)."""

    def __init__(self) -> None:
        self.calls = 0
        self._network = NetworkFeeOracle()

    async def quote(self, chain: ChainRuntime) -> Fees:
        self.calls += 1
        if self.calls == 1:
            return Fees(max_fee_per_gas=2, max_priority_fee_per_gas=1)
        return await self._network.quote(chain)


async def test_a_transaction_priced_too_low_is_replaced_and_transfers_once(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    _, client = await start(fee_oracle=LowballOnce())

    [result] = await client.redeem_charges([grant.charge("lowball", amount=USDC)], wait_seconds=10)

    original, replacement = await world.transactions()
    assert result.status is ChargeStatus.CONFIRMED
    assert original.status is TxStatus.REPLACED
    assert original.max_fee_per_gas == 2
    assert replacement.status is TxStatus.CONFIRMED
    assert replacement.replaces_id == original.id
    assert replacement.nonce == original.nonce
    assert replacement.calldata == original.calldata
    assert result.tx_hash == replacement.tx_hash
    assert world.balance(grant.payee) == USDC


async def test_a_stuck_transaction_is_replaced_with_a_higher_fee(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    _, client = await start(settings=world.settings(stuck_after_seconds=0.3))
    rpc(world.chain.w3, "evm_setAutomine", [False])
    try:
        await client.redeem_charges([grant.charge("stuck", amount=USDC)], wait_seconds=0)
        for _ in range(100):
            if len(await world.transactions()) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        rpc(world.chain.w3, "evm_setAutomine", [True])
    world.chain.mine()

    [result] = await client.redeem_charges([grant.charge("stuck", amount=USDC)], wait_seconds=10)

    rows = await world.transactions()
    confirmed = [tx for tx in rows if tx.status is TxStatus.CONFIRMED]
    assert result.status is ChargeStatus.CONFIRMED
    assert len(rows) >= 2
    assert len(confirmed) == 1
    assert {tx.status for tx in rows if tx is not confirmed[0]} == {TxStatus.REPLACED}
    assert {tx.nonce for tx in rows} == {confirmed[0].nonce}
    assert confirmed[0].max_fee_per_gas > rows[0].max_fee_per_gas
    assert result.tx_hash == confirmed[0].tx_hash
    assert world.balance(grant.payee) == USDC


async def test_fees_above_the_ceiling_keep_the_charge_pending(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    _, client = await start(settings=world.settings(max_fee_per_gas_wei={31337: 1}))

    [result] = await client.redeem_charges([grant.charge("pricey", amount=USDC)], wait_seconds=5)

    assert result.status is ChargeStatus.PENDING
    assert result.failure_code == FailureCode.CHAIN_UNAVAILABLE
    assert await world.transactions() == []
    assert world.balance(grant.payee) == 0


async def test_an_underfunded_relayer_keeps_the_charge_pending(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    rpc(world.chain.w3, "anvil_setBalance", [world.relayer.address, hex(1000)])
    _, client = await start()

    [result] = await client.redeem_charges([grant.charge("poor", amount=USDC)], wait_seconds=5)

    assert result.status is ChargeStatus.PENDING
    assert result.failure_code == FailureCode.RELAYER_UNDERFUNDED
    assert await world.transactions() == []

    rpc(world.chain.w3, "anvil_setBalance", [world.relayer.address, hex(10**18)])
    [funded] = await client.redeem_charges([grant.charge("poor", amount=USDC)], wait_seconds=10)

    assert funded.status is ChargeStatus.CONFIRMED
    assert world.balance(grant.payee) == USDC


async def test_a_reorg_that_drops_a_confirmed_charge_resends_it_once(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    running, client = await start()
    [confirmed] = await client.redeem_charges([grant.charge("reorg", amount=USDC)], wait_seconds=10)
    assert confirmed.status is ChargeStatus.CONFIRMED

    rpc(world.chain.w3, "anvil_reorg", [1, []])
    assert world.balance(grant.payee) == 0
    await running.engine.run_pass()
    [after] = await client.redeem_charges([grant.charge("reorg", amount=USDC)], wait_seconds=10)

    assert after.status is ChargeStatus.CONFIRMED
    assert after.tx_hash == confirmed.tx_hash
    assert after.block_number is not None
    assert after.block_number >= (confirmed.block_number or 0)
    assert world.balance(grant.payee) == USDC
    [tx] = await world.transactions()
    assert tx.status is TxStatus.CONFIRMED


async def test_a_nonce_taken_by_another_transaction_is_resent_with_a_new_one(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    parked: list[SignerTransaction] = []

    async def park(tx: SignerTransaction) -> None:
        # The first broadcast is held back while the same key spends that nonce elsewhere
        # (an operator using the relayer key by hand, say).
        if not parked:
            parked.append(tx)
            await asyncio.Event().wait()

    crashed, client = await start(before_broadcast=park)
    await client.redeem_charges([grant.charge("stolen_nonce", amount=USDC)], wait_seconds=0)
    for _ in range(100):
        if parked:
            break
        await asyncio.sleep(0.02)
    await crashed.stop(grace=0)
    world.chain.w3.eth.send_raw_transaction(
        world.relayer.sign_transaction(
            {
                "type": 2,
                "chainId": 31337,
                "nonce": parked[0].nonce,
                "to": world.relayer.address,
                "value": 0,
                "gas": 21_000,
                "maxFeePerGas": 10**10,
                "maxPriorityFeePerGas": 10**9,
            }
        ).raw_transaction
    )

    _, restarted = await start()
    [result] = await restarted.redeem_charges(
        [grant.charge("stolen_nonce", amount=USDC)], wait_seconds=10
    )

    dropped, resent = await world.transactions()
    assert dropped.status is TxStatus.FAILED
    assert dropped.receipt_status is None
    assert resent.status is TxStatus.CONFIRMED
    assert resent.nonce == dropped.nonce + 1
    assert result.status is ChargeStatus.CONFIRMED
    assert result.tx_hash == resent.tx_hash
    assert world.balance(grant.payee) == USDC


async def test_a_mined_revert_fails_the_charge_with_its_reason(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())

    revoked: list[bool] = []

    async def revoke_first(tx: SignerTransaction) -> None:
        # Between pre-flight and broadcast the customer revokes: the signed batch reverts on-chain.
        if not revoked:
            revoked.append(True)
            world.revoke(grant)

    _, client = await start(before_broadcast=revoke_first)
    [result] = await client.redeem_charges([grant.charge("raced", amount=USDC)], wait_seconds=10)

    [tx] = await world.transactions()
    assert tx.status is TxStatus.FAILED
    assert tx.receipt_status == 0
    assert result.status is ChargeStatus.FAILED
    assert result.failure_code == FailureCode.PERMISSION_REVOKED
    assert result.tx_hash == tx.tx_hash
    assert world.balance(grant.payee) == 0


async def test_a_receipt_counts_only_at_the_confirmation_depth(
    world: SignerWorld, start: StartSigner
) -> None:
    deep = dataclasses.replace(world.chain.network, confirmations=3)
    running, client = await start(registry=NetworkRegistry([deep]))
    grant = world.grant(world.customer())

    [mined] = await client.redeem_charges([grant.charge("deep", amount=USDC)], wait_seconds=1)
    [tx] = await world.transactions()
    assert mined.status is ChargeStatus.SUBMITTED
    assert mined.tx_hash == tx.tx_hash
    assert tx.status is TxStatus.MINED
    assert world.balance(grant.payee) == USDC

    world.chain.mine(1)
    await running.engine.run_pass()
    still = await client.get_charge("deep")
    assert still is not None
    assert still.status is ChargeStatus.SUBMITTED

    world.chain.mine(1)
    [confirmed] = await client.redeem_charges([grant.charge("deep", amount=USDC)], wait_seconds=5)
    assert confirmed.status is ChargeStatus.CONFIRMED
    assert confirmed.block_number == mined.block_number
