"""The dashboard's figures against hand-computed fixtures, on the real billing engine and database.

Subscriptions are made by the billing services (`tests.subscription.helpers.World`: real
PostgreSQL, the charge gateway faked at its interface), then the figures are read through
`cyphera.analytics.service` and compared with what was computed by hand below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.analytics import service as analytics
from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock
from cyphera.kit.periods import Interval
from cyphera.models import Subscription
from cyphera.payment.gateway import ChargeState
from cyphera.subscription import actions, billing, changes
from cyphera.subscription.change_schemas import SubscriptionUpdate
from tests.subscription.helpers import ADDRESS, FakeGateway, make_world

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def test_mrr_counts_movement_revenue_and_outcomes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = FrozenClock(START)
    gateway = FakeGateway()
    world = await make_world(sessionmaker, clock, gateway)
    monthly = await world.price(1999)
    yearly = await world.price(12000, interval=Interval.YEAR)
    weekly = await world.price(500, interval=Interval.WEEK)
    daily = await world.price(100, interval=Interval.DAY)
    quarterly = await world.price(6000, interval=Interval.MONTH, interval_count=3)
    trial = await world.price(1999, trial_period_days=14)

    for price in (monthly, yearly, weekly, daily, quarterly):
        await world.subscribe(price)
    await world.subscribe(trial)  # trialing: not revenue yet
    churned = await world.subscribe(monthly)  # paid its first month, then canceled
    async with transaction(sessionmaker) as session:
        await actions.cancel(
            session, scope=world.scope, subscription_id=churned.subscription_id, clock=clock
        )
    # Another workspace's business never shows in this one's figures
    other = await make_world(sessionmaker, clock, gateway)
    await other.subscribe(await other.price(99_999))

    # By hand: 1999 + 12000/12 + floor(500*52/12) + floor(100*365/12) + 6000/3 = 10,206
    paying = 1999 + 1000 + 2166 + 3041 + 2000
    async with sessionmaker() as session:
        assert await analytics.mrr_cents(session, scope=world.scope) == paying
        counts = await analytics.subscription_counts(session, scope=world.scope)
        assert (counts.active, counts.trialing, counts.past_due, counts.canceled) == (5, 1, 0, 1)
        movement = await analytics.movement(
            session, scope=world.scope, since=START - DAY, until=START + DAY
        )
        assert movement.new_cents == paying
        assert movement.churned_cents == 1999
        assert await analytics.movement(
            session, scope=world.scope, since=START + DAY, until=START + 2 * DAY
        ) == analytics.Movement(new_cents=0, churned_cents=0)

        # Revenue on the day: the five first charges and the churned one's month
        [day] = await analytics.revenue_by_day(
            session, scope=world.scope, since=START - DAY, until=START + DAY
        )
        assert day == analytics.RevenueDay(
            day=START.date(),
            network="local",
            token_address=ADDRESS,
            amount_cents=1999 + 12000 + 500 + 100 + 6000 + 1999,
            invoices=6,
        )
        assert await analytics.payment_outcomes(
            session, scope=world.scope, since=START - DAY, until=START + DAY
        ) == analytics.Outcomes(failed=0, recovered=0)


async def test_a_failed_renewal_is_counted_then_recovered(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = FrozenClock(START)
    gateway = FakeGateway()
    world = await make_world(sessionmaker, clock, gateway)
    sub = await world.subscribe(await world.price(1999))
    period_end = (await world.subscription(sub.subscription_id)).current_period_end
    window = {"since": period_end - DAY, "until": period_end + DAY}

    # When the renewal's charge fails: past_due, still counted in MRR, one failed invoice
    clock.set(period_end + timedelta(seconds=5))
    gateway.outcome, gateway.failure_code = ChargeState.FAILED, "insufficient_balance"
    await billing.renew_due(sessionmaker, clock=clock)
    await world.collect_pending()
    async with sessionmaker() as session:
        assert (await session.get_one(Subscription, sub.subscription_id)).status.value == (
            "past_due"
        )
        assert await analytics.mrr_cents(session, scope=world.scope) == 1999
        assert await analytics.payment_outcomes(
            session, scope=world.scope, **window
        ) == analytics.Outcomes(failed=1, recovered=0)
        assert await analytics.revenue_by_day(session, scope=world.scope, **window) == []

    # And when dunning's retry pays it: recovered, and revenue on the day it was paid
    gateway.outcome, gateway.failure_code = ChargeState.CONFIRMED, None
    clock.advance(2 * DAY)
    async with transaction(sessionmaker) as session:
        locked = (
            await session.execute(
                select(Subscription).where(Subscription.id == sub.subscription_id).with_for_update()
            )
        ).scalar_one()
        await billing.retry_payment(session, subscription=locked, now=clock.now())
    await world.collect_pending()
    async with sessionmaker() as session:
        assert await analytics.payment_outcomes(
            session, scope=world.scope, **window
        ) == analytics.Outcomes(failed=1, recovered=1)
        [paid] = await analytics.revenue_by_day(
            session, scope=world.scope, since=period_end, until=period_end + 3 * DAY
        )
        assert (paid.day, paid.amount_cents, paid.invoices) == (clock.now().date(), 1999, 1)


async def test_price_and_quantity_changes_are_expansion_and_contraction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = FrozenClock(START)
    world = await make_world(sessionmaker, clock, FakeGateway())
    monthly = await world.price(1999)
    quarterly = await world.price(6000, interval=Interval.MONTH, interval_count=3)
    cheaper = await world.price(3000, interval=Interval.MONTH, interval_count=3)
    grows = await world.subscribe(monthly, cap_cents=10_000)
    shrinks = await world.subscribe(quarterly)
    async with transaction(sessionmaker) as session:
        # 1 → 3 seats: +2 × 1999 a month; 6000 → 3000 a quarter: -1000 a month
        await changes.update(
            session,
            scope=world.scope,
            subscription_id=grows.subscription_id,
            data=SubscriptionUpdate(quantity=3, proration_behavior="none"),
            clock=clock,
        )
        await changes.update(
            session,
            scope=world.scope,
            subscription_id=shrinks.subscription_id,
            data=SubscriptionUpdate(price=cheaper, proration_behavior="none"),
            clock=clock,
        )
    # Events are stamped by the database's clock: the window is around the real now.
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        moved = await analytics.movement(
            session, scope=world.scope, since=now - DAY, until=now + DAY
        )
        assert (moved.expansion_cents, moved.contraction_cents) == (2 * 1999, 1000)
        assert await analytics.mrr_cents(session, scope=world.scope) == 3 * 1999 + 1000
