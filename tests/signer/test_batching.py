"""Batching: many customers' charges in one redeemDelegations call; a bad entry never sinks the
others."""

from __future__ import annotations

from cyphera.signer.client import SignerClient
from cyphera.signer.models import TxStatus
from cyphera.signer.schemas import ChargeStatus, FailureCode
from tests.signer.conftest import USDC, SignerWorld


async def test_charges_of_several_customers_share_one_transaction(
    world: SignerWorld, client: SignerClient
) -> None:
    grants = [world.grant(world.customer()) for _ in range(3)]

    results = await client.redeem_charges(
        [g.charge(f"batch_{i}", amount=(i + 1) * USDC) for i, g in enumerate(grants)],
        wait_seconds=10,
    )

    assert [r.status for r in results] == [ChargeStatus.CONFIRMED] * 3
    assert [r.idempotency_key for r in results] == ["batch_0", "batch_1", "batch_2"]
    assert len({r.tx_hash for r in results}) == 1
    assert [world.balance(g.payee) for g in grants] == [USDC, 2 * USDC, 3 * USDC]
    [tx] = await world.transactions()
    assert tx.status is TxStatus.CONFIRMED


async def test_a_bad_entry_is_classified_and_the_others_are_charged(
    world: SignerWorld, client: SignerClient
) -> None:
    good = [world.grant(world.customer()) for _ in range(2)]
    broke = world.grant(world.customer(usdc=0))

    results = await client.redeem_charges(
        [
            good[0].charge("mixed_0", amount=USDC),
            broke.charge("mixed_broke", amount=USDC),
            good[1].charge("mixed_1", amount=USDC),
        ],
        wait_seconds=10,
    )

    assert [r.status for r in results] == [
        ChargeStatus.CONFIRMED,
        ChargeStatus.FAILED,
        ChargeStatus.CONFIRMED,
    ]
    assert results[1].failure_code == FailureCode.INSUFFICIENT_BALANCE
    assert results[1].tx_hash is None
    assert results[0].tx_hash == results[2].tx_hash
    assert [world.balance(g.payee) for g in good] == [USDC, USDC]
    assert len(await world.transactions()) == 1


async def test_entries_that_pass_alone_but_not_together_are_split(
    world: SignerWorld, client: SignerClient
) -> None:
    # Two charges on one delegation: each fits the period cap, both together do not.
    grant = world.grant(world.customer())
    amount = grant.period_amount // 2 + USDC

    results = await client.redeem_charges(
        [grant.charge("split_a", amount=amount), grant.charge("split_b", amount=amount)],
        wait_seconds=10,
    )

    assert [r.status for r in results] == [ChargeStatus.CONFIRMED, ChargeStatus.FAILED]
    assert results[1].failure_code == FailureCode.PERIOD_CAP_REACHED
    assert world.balance(grant.payee) == amount
    [tx] = await world.transactions()
    assert tx.status is TxStatus.CONFIRMED
