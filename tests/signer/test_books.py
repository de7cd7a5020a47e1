"""The signer collects only what the books owe, and burns at most its hourly gas budget.

A leaked signer token must not move funds: a charge is accepted only when the shared database
holds an in-flight payment under an active permission that is exactly that charge, even when the
customer's caveats would allow it.
"""

from __future__ import annotations

from cyphera.signer.client import SignerClient
from cyphera.signer.schemas import ChargeResult, ChargeStatus, FailureCode
from tests.signer.conftest import USDC, SignerWorld, StartSigner

NOT_OWED = "no in-flight payment under an active permission matches this charge"


async def _refused_by_the_books(world: SignerWorld, result: ChargeResult, payee: str) -> None:
    assert result.status is ChargeStatus.FAILED
    assert result.failure_code == FailureCode.POLICY_VIOLATION
    assert result.failure_message == NOT_OWED
    assert result.tx_hash is None
    assert await world.transactions() == []
    assert world.balance(payee) == 0


async def test_a_charge_the_books_do_not_owe_is_refused_though_the_caveats_allow_it(
    world: SignerWorld, client: SignerClient
) -> None:
    # An abandoned checkout: the customer signed, but no payment was ever recorded.
    grant = world.grant(world.customer())

    [result] = await client.redeem_charges(
        [grant.charge("abandoned", amount=USDC, owed=False)], wait_seconds=5
    )

    await _refused_by_the_books(world, result, grant.payee)


async def test_a_charge_that_differs_from_the_owed_payment_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    owed = grant.charge("owed-one-usdc", amount=USDC)
    more = grant.charge("owed-one-usdc", amount=2 * USDC, owed=False)

    [result] = await client.redeem_charges([more], wait_seconds=5)

    await _refused_by_the_books(world, result, grant.payee)
    assert owed.amount == USDC


async def test_a_payment_under_a_permission_no_longer_active_is_refused(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    charge = grant.charge("revoked-in-books", amount=USDC, owed=False)
    world.books.owe(charge, permission_status="revoked")

    [result] = await client.redeem_charges([charge], wait_seconds=5)

    await _refused_by_the_books(world, result, grant.payee)


async def test_an_owed_charge_is_collected(world: SignerWorld, client: SignerClient) -> None:
    grant = world.grant(world.customer())

    [result] = await client.redeem_charges([grant.charge("owed", amount=USDC)], wait_seconds=20)

    assert result.status is ChargeStatus.CONFIRMED
    assert world.balance(grant.payee) == USDC


async def test_past_its_hourly_gas_budget_the_relayer_signs_nothing_and_charges_wait(
    world: SignerWorld, start: StartSigner
) -> None:
    # A budget below one redemption's gas: nothing may be signed this hour.
    _, client = await start(settings=world.settings(default_gas_budget_per_hour=50_000))
    grant = world.grant(world.customer())

    [result] = await client.redeem_charges([grant.charge("budget", amount=USDC)], wait_seconds=3)

    assert result.status is ChargeStatus.PENDING
    assert result.failure_code == FailureCode.GAS_BUDGET_EXHAUSTED
    assert await world.transactions() == []
    assert world.balance(grant.payee) == 0
