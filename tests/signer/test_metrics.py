"""The signer's metrics listener: pending transactions, nonce gap and relayer balance read from
the books and the chain; fee bumps and confirmation lag counted as they happen."""

from __future__ import annotations

from cyphera.chain.devnet.helpers import rpc
from cyphera.signer.schemas import ChargeStatus
from cyphera.signer.server import RunningSigner
from tests.fixtures.scrape import Scrape, scrape, scrape_until
from tests.signer.conftest import USDC, SignerWorld, StartSigner
from tests.signer.test_transactions import LowballOnce

FAST = {"metrics_port": 0, "metrics_refresh_seconds": 0.05}
LAG_COUNT = "cyphera_signer_confirmation_lag_seconds_count"


def _url(running: RunningSigner) -> str:
    assert running.metrics is not None
    return f"http://127.0.0.1:{running.metrics.port}/metrics"


async def test_pending_transactions_nonce_gap_balance_and_confirmation_lag(
    world: SignerWorld, start: StartSigner
) -> None:
    grant = world.grant(world.customer())
    running, client = await start(settings=world.settings(**FAST))
    url = _url(running)
    relayer = {"network": world.chain.network.key, "relayer": running.relayer}
    funded = world.chain.w3.eth.get_balance(running.relayer)

    # Given an idle relayer: nothing pending, no gap, its balance
    idle = await scrape_until(
        url, lambda seen: seen.value("cyphera_signer_relayer_balance_wei", **relayer) > 0
    )
    assert idle.value("cyphera_signer_relayer_balance_wei", **relayer) == funded
    assert idle.value("cyphera_signer_pending_transactions", **relayer) == 0
    assert idle.value("cyphera_signer_nonce_gap", **relayer) == 0
    lags_before = idle.value(LAG_COUNT, network=world.chain.network.key)

    # When a charge is broadcast and the chain does not mine it
    rpc(world.chain.w3, "evm_setAutomine", [False])
    try:
        [submitted] = await client.redeem_charges([grant.charge("m1", amount=USDC)], wait_seconds=0)

        # Then one transaction is pending, and the node holds its nonce (no gap)
        def pending(seen: Scrape) -> bool:
            return seen.value("cyphera_signer_pending_transactions", **relayer) == 1

        seen = await scrape_until(url, pending)
        assert pending(seen)
        assert seen.value("cyphera_signer_nonce_gap", **relayer) == 0
    finally:
        rpc(world.chain.w3, "evm_setAutomine", [True])
    world.chain.mine()

    # When it is mined and confirmed
    [confirmed] = await client.redeem_charges([grant.charge("m1", amount=USDC)], wait_seconds=10)
    assert confirmed.status is ChargeStatus.CONFIRMED

    # Then nothing is pending, its lag is observed once, and the gas it cost shows in the balance
    def settled(seen: Scrape) -> bool:
        return seen.value("cyphera_signer_pending_transactions", **relayer) == 0 and (
            seen.value("cyphera_signer_relayer_balance_wei", **relayer) < funded
        )

    seen = await scrape_until(url, settled)
    assert settled(seen)
    assert seen.value(LAG_COUNT, network=world.chain.network.key) - lags_before == 1
    assert seen.value("cyphera_signer_nonce_gap", **relayer) == 0
    assert submitted.idempotency_key not in seen.label_values()


async def test_a_fee_bump_is_counted(world: SignerWorld, start: StartSigner) -> None:
    grant = world.grant(world.customer())
    running, client = await start(settings=world.settings(**FAST), fee_oracle=LowballOnce())
    url = _url(running)
    relayer = {"network": world.chain.network.key, "relayer": running.relayer}
    before = (await scrape(url)).value("cyphera_signer_fee_bumps_total", **relayer)

    # When a transaction priced too low is replaced by a higher-fee copy
    [result] = await client.redeem_charges([grant.charge("bump", amount=USDC)], wait_seconds=10)

    # Then the bump is counted, once
    assert result.status is ChargeStatus.CONFIRMED
    after = await scrape(url)
    assert after.value("cyphera_signer_fee_bumps_total", **relayer) - before == 1


async def test_no_listener_without_a_port(start: StartSigner) -> None:
    running, _ = await start()
    assert running.metrics is None
