"""Charging through the real signer: gRPC in, a redemption on anvil out, balances as proof."""

from __future__ import annotations

import pytest

from cyphera.exceptions import Conflict, InvalidRequest
from cyphera.signer.client import SignerClient
from cyphera.signer.models import TxStatus
from cyphera.signer.schemas import ChargeInput, ChargeStatus, FailureCode
from tests.signer.conftest import USDC, SignerWorld


async def test_a_charge_moves_exactly_the_amount_to_the_payee(
    world: SignerWorld, client: SignerClient
) -> None:
    customer = world.customer(usdc=100 * USDC)
    grant = world.grant(customer)

    [result] = await client.redeem_charges(
        [grant.charge("inv_1", amount=20 * USDC)], wait_seconds=10
    )

    assert result.status is ChargeStatus.CONFIRMED
    assert result.failure_code is None
    assert result.tx_hash is not None
    assert result.block_number
    assert result.gas_used
    assert result.delegation_hash is not None
    assert world.balance(grant.payee) == 20 * USDC
    assert world.balance(customer.address) == 80 * USDC
    [tx] = await world.transactions()
    assert tx.status is TxStatus.CONFIRMED
    assert tx.tx_hash == result.tx_hash
    assert tx.relayer == world.relayer.address


async def test_the_same_idempotency_key_twice_transfers_once(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    charge = grant.charge("inv_twice", amount=10 * USDC)

    [first] = await client.redeem_charges([charge], wait_seconds=10)
    [second] = await client.redeem_charges([charge], wait_seconds=10)
    fetched = await client.get_charge("inv_twice")

    assert first.status is ChargeStatus.CONFIRMED
    assert second == first
    assert fetched == first
    assert world.balance(grant.payee) == 10 * USDC
    assert len(await world.transactions()) == 1


async def test_reusing_a_key_for_another_charge_is_a_conflict(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    await client.redeem_charges([grant.charge("inv_reuse", amount=5 * USDC)], wait_seconds=10)

    with pytest.raises(Conflict) as raised:
        await client.redeem_charges([grant.charge("inv_reuse", amount=6 * USDC)], wait_seconds=0)

    assert raised.value.code == "idempotency_key_reused"
    assert world.balance(grant.payee) == 5 * USDC


async def test_a_second_charge_in_the_same_period_fails_with_period_cap_reached(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    await client.redeem_charges([grant.charge("period_1")], wait_seconds=10)

    [second] = await client.redeem_charges([grant.charge("period_1_again")], wait_seconds=10)

    assert second.status is ChargeStatus.FAILED
    assert second.failure_code == FailureCode.PERIOD_CAP_REACHED
    assert second.tx_hash is None
    assert world.balance(grant.payee) == grant.period_amount
    assert len(await world.transactions()) == 1


async def test_get_charge_of_an_unknown_key_is_none(client: SignerClient) -> None:
    assert await client.get_charge("never_submitted") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("idempotency_key", ""),
        ("idempotency_key", "has space"),
        ("token", "not-an-address"),
        ("payee", "0x1234"),
        ("permission_context", b""),
        ("chain_id", 0),
    ],
)
async def test_a_malformed_request_is_invalid_argument(
    world: SignerWorld, client: SignerClient, field: str, value: object
) -> None:
    grant = world.grant(world.customer(usdc=0))
    fields: dict[str, object] = {
        "idempotency_key": "malformed",
        "chain_id": 31337,
        "permission_context": grant.context,
        "token": grant.token,
        "payee": grant.payee,
        "amount": 1,
    }
    fields[field] = value

    with pytest.raises(InvalidRequest):
        await client.redeem_charges([ChargeInput(**fields)], wait_seconds=0)

    assert await client.get_charge("malformed") is None
