"""Failure classification: a charge fails only when the chain proves it cannot move funds, with a
stable code; nothing is signed for it."""

from __future__ import annotations

from cyphera.chain.devnet.helpers import transact
from cyphera.delegation import Caveat, encode_increment_nonce, terms
from cyphera.delegation.caveats import NONCE_ENFORCER
from cyphera.signer.client import SignerClient
from cyphera.signer.schemas import ChargeStatus, FailureCode
from tests.signer.conftest import DAY, USDC, Grant, SignerWorld


async def _failed_with(
    world: SignerWorld, client: SignerClient, charge_key: str, grant: Grant
) -> str | None:
    [result] = await client.redeem_charges([grant.charge(charge_key, amount=USDC)], wait_seconds=10)
    assert result.status is ChargeStatus.FAILED
    assert result.tx_hash is None
    assert await world.transactions() == []
    return result.failure_code


async def test_a_revoked_permission_fails_with_permission_revoked(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())
    world.revoke(grant)

    code = await _failed_with(world, client, "revoked", grant)

    assert code == FailureCode.PERMISSION_REVOKED
    assert world.balance(grant.payee) == 0


async def test_a_nonce_bumped_permission_fails_with_permission_revoked(
    world: SignerWorld, client: SignerClient
) -> None:
    framework = world.chain.deployment.framework
    customer = world.customer()
    grant = world.grant(
        customer,
        extra_caveats=[Caveat(enforcer=framework.enforcer(NONCE_ENFORCER), terms=terms.nonce(0))],
    )
    transact(
        world.chain.w3,
        customer,
        framework.enforcer(NONCE_ENFORCER),
        encode_increment_nonce(framework.delegation_manager),
    )

    code = await _failed_with(world, client, "nonce_bumped", grant)

    assert code == FailureCode.PERMISSION_REVOKED


async def test_an_expired_permission_fails_with_permission_expired(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer(), expiry_in=DAY)
    world.chain.time_travel(2 * DAY)

    code = await _failed_with(world, client, "expired", grant)

    assert code == FailureCode.PERMISSION_EXPIRED
    assert world.balance(grant.payee) == 0


async def test_a_customer_without_funds_fails_with_insufficient_balance(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer(usdc=USDC // 2))

    code = await _failed_with(world, client, "broke", grant)

    assert code == FailureCode.INSUFFICIENT_BALANCE
    assert world.balance(grant.customer.address) == USDC // 2


async def test_preflight_reports_without_changing_anything(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer(usdc=40 * USDC))

    fine = await client.preflight(grant.charge("pre", amount=USDC))
    world.revoke(grant)
    revoked = await client.preflight(grant.charge("pre", amount=USDC))

    assert fine.ok is True
    assert fine.failure_code is None
    assert fine.available_in_period == grant.period_amount
    assert fine.token_balance == 40 * USDC
    assert (fine.is_revoked, fine.is_expired) == (False, False)
    assert revoked.ok is False
    assert revoked.failure_code == FailureCode.PERMISSION_REVOKED
    assert revoked.is_revoked is True
    assert await client.get_charge("pre") is None
    assert await world.transactions() == []


async def test_preflight_of_a_policy_violation_says_so(
    world: SignerWorld, client: SignerClient
) -> None:
    grant = world.grant(world.customer())

    result = await client.preflight(grant.charge("pre_over", amount=grant.period_amount + 1))

    assert result.ok is False
    assert result.failure_code == FailureCode.POLICY_VIOLATION
