"""A coupon on a checkout session: checked when the session is created, redeemed atomically when
it completes (a coupon used up meanwhile refuses the completion and nothing is created), and the
customer's on-chain permission stays at the undiscounted price."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.coupon import errors
from cyphera.coupon import service as coupons
from cyphera.coupon.schemas import CouponCreate
from cyphera.db.engine import transaction
from cyphera.exceptions import NotFound
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.models import CheckoutSession, Coupon, Discount, Invoice, Subscription
from cyphera.models.checkout_session import CheckoutSessionStatus
from tests.subscription.helpers import (
    World,
    add_payout_address,
    open_checkout,
    sign_and_complete,
)

NETWORK = "base-sepolia"
PRICE = 2000


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


async def setup(world: World, **coupon: Any) -> tuple[str, str]:
    price_id = await world.price(PRICE)
    await add_payout_address(world, network=NETWORK)
    async with transaction(world.sessionmaker) as session:
        created = await coupons.create_coupon(
            session, scope=world.scope, data=CouponCreate(**coupon), clock=world.clock
        )
    return price_id, created.id


async def test_a_coupon_is_redeemed_at_completion_and_discounts_the_first_invoice(
    world: World, registry: NetworkRegistry
) -> None:
    price_id, coupon_id = await setup(world, percent_off=50, duration="once")
    checkout_id, customer = await open_checkout(
        world, registry, price_id, network=NETWORK, coupon_id=coupon_id
    )
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 0

    completed = await sign_and_complete(world, registry, checkout_id, customer)

    invoices = await world.invoices(completed.subscription.id)
    assert [i.amount_due for i in invoices] == [1000]
    assert completed.payment is not None
    assert completed.payment.amount_cents == 1000
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1
    stored = await world.get(CheckoutSession, checkout_id)
    # The on-chain cap is the undiscounted price: the end of the discount is always chargeable.
    assert stored.period_amount == cents_to_token_units(Cents(PRICE), token_decimals=6)


async def test_a_coupon_used_up_meanwhile_refuses_the_completion_and_creates_nothing(
    world: World, registry: NetworkRegistry
) -> None:
    price_id, coupon_id = await setup(world, percent_off=50, duration="once", max_redemptions=1)
    first_id, first_customer = await open_checkout(
        world, registry, price_id, network=NETWORK, coupon_id=coupon_id
    )
    second_id, second_customer = await open_checkout(
        world, registry, price_id, network=NETWORK, coupon_id=coupon_id
    )
    await sign_and_complete(world, registry, first_id, first_customer)

    with pytest.raises(errors.CouponMaxRedemptions):
        await sign_and_complete(world, registry, second_id, second_customer)

    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1
    assert (await world.get(CheckoutSession, second_id)).status is CheckoutSessionStatus.OPEN
    assert await world.count(Subscription) == 1
    assert await world.count(Discount) == 1
    assert await world.count(Invoice) == 1


async def test_a_deleted_or_unknown_coupon_is_refused_at_creation(
    world: World, registry: NetworkRegistry
) -> None:
    price_id, coupon_id = await setup(world, amount_off=300, currency="usd", duration="forever")
    async with transaction(world.sessionmaker) as session:
        await coupons.delete_coupon(
            session, scope=world.scope, coupon_id=coupon_id, clock=world.clock
        )

    with pytest.raises(errors.CouponInvalid) as deleted:
        await open_checkout(world, registry, price_id, network=NETWORK, coupon_id=coupon_id)
    with pytest.raises(NotFound) as unknown:
        await open_checkout(world, registry, price_id, network=NETWORK, coupon_id="coupon_nothere")

    assert (deleted.value.code, deleted.value.param) == ("coupon_invalid", "coupon")
    assert (unknown.value.code, unknown.value.param) == ("resource_missing", "coupon")
    async with world.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(CheckoutSession)) == 0
