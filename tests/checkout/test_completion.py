"""Refusals of preparing and completing a checkout session (`checkout.completion`): an expired
session, a clock that is not ready, a payout address removed since the session was opened, and a
completion with both or neither of a signature and a grant. A refused step writes nothing: no
terms, no customer, permission or subscription, and the session stays open."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import delete

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.checkout import errors
from cyphera.checkout.service import SESSION_LIFETIME
from cyphera.checkout.terms import terms_of
from cyphera.db.engine import transaction
from cyphera.exceptions import ErrorKind
from cyphera.models import CheckoutSession, Customer, PayoutAddress, Permission, Subscription
from cyphera.models import TestClock as TestClockModel
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.test_clock import TestClockStatus
from cyphera.testclock import errors as test_clock_errors
from cyphera.testclock import service as test_clocks
from tests.subscription.helpers import (
    World,
    add_payout_address,
    complete_checkout,
    create_checkout,
    open_checkout,
    prepare_checkout,
    sign_and_complete,
)

NETWORK = "base-sepolia"


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


async def nothing_recorded(world: World, checkout_id: str) -> None:
    """The session is still open and nothing of a completion was written."""
    assert (await world.get(CheckoutSession, checkout_id)).status is CheckoutSessionStatus.OPEN
    for model in (Customer, Permission, Subscription):
        assert await world.count(model) == 0, model


@pytest.mark.parametrize("step", ["prepare", "complete"])
async def test_an_expired_session_can_be_neither_prepared_nor_completed(
    world: World, registry: NetworkRegistry, step: str
) -> None:
    # Given a prepared session, a day old
    await add_payout_address(world, network=NETWORK)
    checkout_id, customer = await open_checkout(
        world, registry, await world.price(3000), network=NETWORK
    )
    world.clock.advance(SESSION_LIFETIME)

    async def attempt() -> None:
        if step == "prepare":
            await prepare_checkout(world, registry, checkout_id, network=NETWORK, token="USDC")
        else:
            await sign_and_complete(world, registry, checkout_id, customer)

    # When the customer prepares or signs it now
    with pytest.raises(errors.CheckoutSessionNotOpen) as refused:
        await attempt()

    # Then it has expired
    assert (refused.value.code, refused.value.kind) == (
        "checkout_session_not_open",
        ErrorKind.CONFLICT,
    )
    assert refused.value.message == "checkout session has expired; create a new one"
    await nothing_recorded(world, checkout_id)


@pytest.mark.parametrize("clock_is", ["advancing", "deleted"])
async def test_a_session_on_a_test_clock_that_is_not_ready_cannot_be_completed(
    world: World, registry: NetworkRegistry, clock_is: str
) -> None:
    # Given a session prepared on a test clock
    await add_payout_address(world, network=NETWORK)
    async with transaction(world.sessionmaker) as session:
        test_clock = await test_clocks.create(
            session,
            scope=world.scope,
            frozen_time=world.clock.now(),
            name=None,
            metadata=None,
            clock=world.clock,
        )
    customer = Account.create()
    checkout = await create_checkout(
        world,
        registry,
        await world.price(3000),
        customer_address=customer.address,
        network_key=NETWORK,
        token_symbol="USDC",
        test_clock_id=test_clock.id,
    )
    assert terms_of(checkout) is not None
    # And then the clock starts advancing, or is deleted
    async with transaction(world.sessionmaker) as session:
        locked = await session.get_one(TestClockModel, test_clock.id)
        if clock_is == "advancing":
            locked.status = TestClockStatus.ADVANCING
        else:
            locked.deleted_at = world.clock.now()

    # When the customer signs it
    with pytest.raises(test_clock_errors.TestClockNotReady) as refused:
        await sign_and_complete(world, registry, checkout.id, customer)

    # Then it waits for the clock
    assert (refused.value.code, refused.value.kind) == ("test_clock_not_ready", ErrorKind.CONFLICT)
    await nothing_recorded(world, checkout.id)


async def test_a_network_whose_payout_address_was_removed_cannot_be_prepared(
    world: World, registry: NetworkRegistry
) -> None:
    # Given an open session on a network whose payout address the merchant then removed
    await add_payout_address(world, network=NETWORK)
    checkout = await create_checkout(world, registry, await world.price(3000))
    async with transaction(world.sessionmaker) as session:
        await session.execute(
            delete(PayoutAddress).where(PayoutAddress.workspace_id == world.workspace_id)
        )
    assert await world.count(PayoutAddress) == 0

    # When the customer prepares it for that network
    with pytest.raises(errors.PayoutAddressMissing) as refused:
        await prepare_checkout(
            world,
            registry,
            checkout.id,
            customer_address=Account.create().address,
            network=NETWORK,
            token="USDC",
        )

    # Then there is no one to pay, and no terms are fixed
    assert (refused.value.code, refused.value.kind, refused.value.param) == (
        "payout_address_missing",
        ErrorKind.INVALID,
        "network",
    )
    after = await world.get(CheckoutSession, checkout.id)
    assert (terms_of(after), after.customer_address) == (None, None)
    await nothing_recorded(world, checkout.id)


@pytest.mark.parametrize(
    "proof",
    [{}, {"signature": b"\x11" * 65, "grant": {"context": "0x"}}],
    ids=["neither", "both"],
)
async def test_completing_needs_exactly_one_of_a_signature_or_a_grant(
    world: World, registry: NetworkRegistry, proof: dict[str, Any]
) -> None:
    await add_payout_address(world, network=NETWORK)
    checkout_id, _ = await open_checkout(world, registry, await world.price(3000), network=NETWORK)

    with pytest.raises(errors.PermissionInvalid) as refused:
        await complete_checkout(world, registry, checkout_id, **proof)

    assert (refused.value.code, refused.value.kind) == ("permission_invalid", ErrorKind.INVALID)
    assert refused.value.message == "send exactly one of `signature` or `grant`"
    await nothing_recorded(world, checkout_id)
