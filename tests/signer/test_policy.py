"""Policy: the signer refuses anything outside what the customer signed, whatever the caller says,
and signs nothing for it."""

from __future__ import annotations

from eth_account import Account

from cyphera.signer.client import SignerClient
from cyphera.signer.schemas import ChargeInput, ChargeStatus, FailureCode
from tests.signer.conftest import USDC, SignerWorld


async def _refused(world: SignerWorld, client: SignerClient, charge: ChargeInput) -> str | None:
    [result] = await client.redeem_charges([charge], wait_seconds=5)
    assert result.status is ChargeStatus.FAILED
    assert result.tx_hash is None
    # Refused by the caveat policy itself: the books owed this charge (see test_books.py).
    assert "no in-flight payment" not in (result.failure_message or "")
    assert await world.transactions() == []
    return result.failure_code


async def test_a_payee_other_than_the_locked_one_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    thief = Account.create().address

    code = await _refused(world, client, grant.charge("payee", payee=thief, amount=USDC))

    assert code == FailureCode.POLICY_VIOLATION
    assert world.balance(thief) == 0


async def test_an_amount_over_the_period_cap_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())

    code = await _refused(world, client, grant.charge("over", amount=grant.period_amount + 1))

    assert code == FailureCode.POLICY_VIOLATION
    assert world.balance(grant.payee) == 0


async def test_a_zero_amount_is_refused(world: SignerWorld, client: SignerClient) -> None:
    grant = world.grant(world.customer())

    assert (
        await _refused(world, client, grant.charge("zero", amount=0))
        == FailureCode.POLICY_VIOLATION
    )


async def test_a_token_the_registry_does_not_list_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    unknown = Account.create().address

    code = await _refused(world, client, grant.charge("token", token=unknown, amount=USDC))

    assert code == FailureCode.POLICY_VIOLATION


async def test_a_listed_token_other_than_the_capped_one_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    usdt = world.chain.network.token("USDT").address

    code = await _refused(world, client, grant.charge("usdt", token=usdt, amount=USDC))

    assert code == FailureCode.POLICY_VIOLATION


async def test_a_delegation_to_someone_else_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer(), delegate=Account.create().address)

    code = await _refused(world, client, grant.charge("foreign", amount=USDC))

    assert code == FailureCode.POLICY_VIOLATION
    assert world.balance(grant.payee) == 0


async def test_an_unknown_chain_is_refused(world: SignerWorld, client: SignerClient) -> None:
    grant = world.grant(world.customer())
    charge = grant.charge("chain", amount=USDC)

    elsewhere = ChargeInput(
        idempotency_key=charge.idempotency_key + "-elsewhere",
        chain_id=999_999,
        permission_context=charge.permission_context,
        token=charge.token,
        payee=charge.payee,
        amount=charge.amount,
    )
    world.books.owe(elsewhere)

    code = await _refused(world, client, elsewhere)

    assert code == FailureCode.POLICY_VIOLATION


async def test_a_context_that_does_not_decode_is_an_invalid_permission(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    charge = grant.charge("garbage", amount=USDC)

    garbage = ChargeInput(
        idempotency_key="garbage-context",
        chain_id=charge.chain_id,
        permission_context=b"\x00" * 31 + b"\x20" + b"\x01",
        token=charge.token,
        payee=charge.payee,
        amount=charge.amount,
    )
    world.books.owe(garbage)

    code = await _refused(world, client, garbage)

    assert code == FailureCode.INVALID_PERMISSION
