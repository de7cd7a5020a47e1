"""Crashes and outages: whatever happens between signing, broadcasting and the receipt, a restarted
signer finishes the charge and the customer pays exactly once."""

from __future__ import annotations

from urllib.parse import urlparse

from cyphera.chain.devnet import free_port
from cyphera.chain.networks import load_registry
from cyphera.signer.models import TxStatus
from cyphera.signer.schemas import ChargeStatus, FailureCode
from tests.signer.conftest import USDC, Hang, SignerWorld, StartSigner
from tests.signer.proxy import TcpProxy


async def test_a_crash_between_persisting_and_broadcasting_is_resumed_once(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    charge = grant.charge("crash_before_send", amount=7 * USDC)
    hang = Hang()
    crashed, client = await start(before_broadcast=hang)

    [accepted] = await client.redeem_charges([charge], wait_seconds=0)
    await hang.reached.wait()
    await crashed.stop(grace=0)

    [persisted] = await world.transactions()
    assert accepted.status is ChargeStatus.PENDING
    assert persisted.status is TxStatus.SIGNED
    assert persisted.raw_transaction
    assert world.balance(grant.payee) == 0

    _, restarted = await start()
    [result] = await restarted.redeem_charges([charge], wait_seconds=10)

    assert result.status is ChargeStatus.CONFIRMED
    assert result.tx_hash == persisted.tx_hash
    assert world.balance(grant.payee) == 7 * USDC
    assert [tx.status for tx in await world.transactions()] == [TxStatus.CONFIRMED]


async def test_a_crash_between_broadcasting_and_recording_it_is_resumed_once(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    charge = grant.charge("crash_after_send", amount=3 * USDC)
    hang = Hang()
    crashed, client = await start(after_broadcast=hang)

    await client.redeem_charges([charge], wait_seconds=0)
    await hang.reached.wait()
    await crashed.stop(grace=0)

    # The node has it (anvil mined it at once); our row still says "signed".
    assert world.balance(grant.payee) == 3 * USDC
    [persisted] = await world.transactions()
    assert persisted.status is TxStatus.SIGNED

    _, restarted = await start()
    [result] = await restarted.redeem_charges([charge], wait_seconds=10)

    assert result.status is ChargeStatus.CONFIRMED
    assert result.tx_hash == persisted.tx_hash
    assert world.balance(grant.payee) == 3 * USDC
    assert [tx.status for tx in await world.transactions()] == [TxStatus.CONFIRMED]


async def test_an_unreachable_chain_keeps_the_charge_pending_until_it_is_back(
    world: SignerWorld, start: StartSigner
) -> None:
    target = urlparse(world.chain.rpc_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 0)
    await proxy.start()
    registry = load_registry(
        world.chain.deployment, {"CYPHERA_RPC_LOCAL": proxy.url}, artifacts=world.chain.artifacts
    )
    _, client = await start(registry=registry)
    grant = world.grant(world.customer())
    charge = grant.charge("outage", amount=4 * USDC)
    try:
        await proxy.cut()
        [during] = await client.redeem_charges([charge], wait_seconds=10)

        assert during.status is ChargeStatus.PENDING
        assert during.failure_code == FailureCode.CHAIN_UNAVAILABLE
        assert world.balance(grant.payee) == 0
        assert await world.transactions() == []

        await proxy.restore()
        [after] = await client.redeem_charges([charge], wait_seconds=10)
    finally:
        await proxy.cut()

    assert after.status is ChargeStatus.CONFIRMED
    assert after.failure_code is None
    assert world.balance(grant.payee) == 4 * USDC


async def test_a_dead_rpc_endpoint_fails_over_to_the_next_one(
    world: SignerWorld, start: StartSigner
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    registry = load_registry(
        world.chain.deployment,
        {"CYPHERA_RPC_LOCAL": f"{dead},{world.chain.rpc_url}"},
        artifacts=world.chain.artifacts,
    )
    _, client = await start(registry=registry)
    grant = world.grant(world.customer())

    [result] = await client.redeem_charges([grant.charge("failover", amount=USDC)], wait_seconds=10)

    assert result.status is ChargeStatus.CONFIRMED
    assert world.balance(grant.payee) == USDC
