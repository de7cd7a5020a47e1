"""Discounts on subscriptions, driven with the billing functions on a frozen clock: the rounding
rule, the three durations across renewals, removal, and redemption under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.coupon import errors, service
from cyphera.db.engine import transaction
from cyphera.exceptions import NotFound
from cyphera.models import Coupon, Discount, Invoice, Subscription
from cyphera.models.invoice import InvoiceStatus
from cyphera.subscription import billing, discounts
from cyphera.subscription import service as subscriptions
from tests.coupon.helpers import apply, lines, make_coupon, renew
from tests.subscription.conftest import START
from tests.subscription.helpers import World

PRICE = 3000


# --- the rounding rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "basis_points"),
    [(25, 2500), (12.5, 1250), (33.33, 3333), (0.01, 1), (100, 10000)],
)
def test_percent_off_is_stored_in_basis_points(percent: float, basis_points: int) -> None:
    assert service.percent_to_basis_points(percent) == basis_points


@pytest.mark.parametrize(
    ("basis_points", "subtotal", "expected"),
    [
        (3333, 999, 332),  # 332.9667 → 332: floored
        (1250, 1999, 249),  # 249.875 → 249
        (1, 99, 0),  # 0.0099 → 0
        (10000, 1999, 1999),  # 100% takes everything
        (2500, 0, 0),  # nothing to discount
    ],
)
def test_a_percent_discount_is_floored(basis_points: int, subtotal: int, expected: int) -> None:
    coupon = Coupon(percent_off_bp=basis_points, amount_off=None)

    assert service.discount_amount(coupon, subtotal) == expected


@pytest.mark.parametrize(
    ("amount_off", "subtotal", "expected"), [(500, 3000, 500), (5000, 3000, 3000), (1, 0, 0)]
)
def test_an_amount_discount_never_goes_below_zero(
    amount_off: int, subtotal: int, expected: int
) -> None:
    coupon = Coupon(percent_off_bp=None, amount_off=amount_off)

    assert service.discount_amount(coupon, subtotal) == expected


MONTHS = [datetime(2026, m, 1, 12, 0, 1, tzinfo=UTC) for m in (4, 5, 6, 7)]


# --- durations -----------------------------------------------------------------------------------


async def test_once_discounts_only_the_next_invoice(world: World) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(world, percent_off=25, duration="once")
    world.at(START + timedelta(days=1))

    await apply(world, sub.subscription_id, coupon_id)
    amounts = [(await renew(world, at)).amount_due for at in MONTHS[:3]]

    assert amounts == [2250, 3000, 3000]
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1
    first = (await world.invoices(sub.subscription_id))[1]
    assert await lines(world, first.id) == [("subscription", 3000), ("discount", -750)]
    assert first.status is InvoiceStatus.PAID
    assert [order.amount for order in world.gateway.charges][-3:] == [
        2250 * 10**4,
        3000 * 10**4,
        3000 * 10**4,
    ]


async def test_repeating_discounts_the_periods_starting_within_its_months(world: World) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(
        world, amount_off=500, currency="usd", duration="repeating", duration_in_months=2
    )
    world.at(START + timedelta(days=1))  # the discount ends 2026-05-02 12:00

    await apply(world, sub.subscription_id, coupon_id)
    amounts = [(await renew(world, at)).amount_due for at in MONTHS]

    assert amounts == [2500, 2500, 3000, 3000]
    async with world.sessionmaker() as session:
        discount = await session.scalar(
            select(Discount).where(Discount.subscription_id == sub.subscription_id)
        )
    assert discount is not None
    assert discount.end == datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    assert discount.ended_at == discount.end


async def test_forever_applies_to_every_invoice_and_an_amount_never_goes_below_zero(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(world, amount_off=5000, currency="usd", duration="forever")
    charges_before = len(world.gateway.charges)

    await apply(world, sub.subscription_id, coupon_id)
    invoices = [await renew(world, at) for at in MONTHS[:2]]

    assert [i.amount_due for i in invoices] == [0, 0]
    assert [i.status for i in invoices] == [InvoiceStatus.PAID, InvoiceStatus.PAID]
    assert await lines(world, invoices[1].id) == [("subscription", 3000), ("discount", -3000)]
    assert len(world.gateway.charges) == charges_before  # nothing charged, nothing carried over
    assert (await world.subscription(sub.subscription_id)).proration_balance == 0


async def test_a_removed_discount_stops_applying_and_is_recorded(world: World) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(world, percent_off=10, duration="forever")
    await apply(world, sub.subscription_id, coupon_id)
    assert (await renew(world, MONTHS[0])).amount_due == 2700

    async with transaction(world.sessionmaker) as session:
        subscription = await subscriptions.get_subscription(
            session, scope=world.scope, subscription_id=sub.subscription_id, for_update=True
        )
        removed = await discounts.remove(session, subscription=subscription, at=world.clock.now())
    after = await renew(world, MONTHS[1])

    assert after.amount_due == 3000
    assert await lines(world, after.id) == [("subscription", 3000)]
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["discount"] is None
    assert event["previous_attributes"]["discount"]["id"] == removed.id
    assert event["previous_attributes"]["discount"]["coupon"]["id"] == coupon_id
    async with transaction(world.sessionmaker) as session:
        subscription = await session.get_one(Subscription, sub.subscription_id)
        with pytest.raises(NotFound):
            await discounts.remove(session, subscription=subscription, at=world.clock.now())


async def test_applying_a_coupon_records_the_previous_discount(world: World) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    first = await make_coupon(world, percent_off=10, duration="forever")
    second = await make_coupon(world, percent_off=50, duration="once")

    await apply(world, sub.subscription_id, first)
    await apply(world, sub.subscription_id, second)

    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"]["discount"]["coupon"]["id"] == first
    # The subscription as the API shows it carries its current discount
    assert event["discount"]["coupon"]["id"] == second
    assert event["discount"]["subscription"] == sub.subscription_id
    assert (await renew(world, MONTHS[0])).amount_due == 1500
    assert (await renew(world, MONTHS[1])).amount_due == 3000  # the replaced one is gone too


async def test_a_deleted_coupon_cannot_be_applied_but_its_discount_keeps_applying(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    other = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(world, percent_off=10, duration="forever")
    await apply(world, sub.subscription_id, coupon_id)
    async with transaction(world.sessionmaker) as session:
        await service.delete_coupon(
            session, scope=world.scope, coupon_id=coupon_id, clock=world.clock
        )

    with pytest.raises(errors.CouponInvalid):
        await apply(world, other.subscription_id, coupon_id)
    world.at(MONTHS[0])
    opened = await billing.renew_due(world.sessionmaker, clock=world.clock)

    amounts = sorted([(await world.get(Invoice, i)).amount_due for i in opened])
    assert amounts == [2700, 3000]
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1


async def test_an_expired_or_foreign_currency_coupon_is_refused(world: World) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(
        world, percent_off=10, duration="once", redeem_by=int(MONTHS[0].timestamp())
    )
    world.at(MONTHS[0] + timedelta(seconds=-1) + timedelta(days=1))

    with pytest.raises(errors.CouponExpired):
        await apply(world, sub.subscription_id, coupon_id)
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 0


# --- max_redemptions under concurrency ------------------------------------------------------------


async def test_concurrent_redemptions_never_exceed_max_redemptions(world: World) -> None:
    coupon_id = await make_coupon(world, percent_off=10, duration="once", max_redemptions=1)
    now = world.clock.now()

    async def redeem(session: AsyncSession) -> None:
        await service.redeem(session, coupon_id=coupon_id, currency="usd", now=now)

    async with world.sessionmaker() as first, world.sessionmaker() as second:
        await first.begin()
        await second.begin()
        await redeem(first)  # holds the row lock until it commits
        waiting = asyncio.ensure_future(redeem(second))
        await first.commit()
        with pytest.raises(errors.CouponMaxRedemptions) as refused:
            await waiting
        await second.rollback()

    assert refused.value.code == "coupon_max_redemptions_reached"
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1


async def test_redeeming_a_coupon_that_reached_max_redemptions_is_refused(world: World) -> None:
    sub = await world.subscribe(await world.price(PRICE))
    other = await world.subscribe(await world.price(PRICE))
    coupon_id = await make_coupon(world, percent_off=10, duration="once", max_redemptions=1)
    await apply(world, sub.subscription_id, coupon_id)

    with pytest.raises(errors.CouponMaxRedemptions):
        await apply(world, other.subscription_id, coupon_id)
    async with world.sessionmaker() as session:
        assert (
            await session.scalar(
                select(Discount).where(Discount.subscription_id == other.subscription_id)
            )
        ) is None
