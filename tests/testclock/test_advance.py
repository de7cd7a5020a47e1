"""The advance job on the database with a fake signer: a clock's subscriptions move only with it,
renewals are charged one instant at a time at the clock's time, and the regular run ignores them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from cyphera.db.engine import transaction
from cyphera.kit.periods import Interval
from cyphera.models import Event, Payment, Subscription, TestClock
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.models.test_clock import TestClockStatus
from cyphera.subscription import billing, scheduler
from cyphera.testclock import service
from tests.subscription.conftest import START
from tests.subscription.helpers import World

TRIAL_END = START + timedelta(days=7)


async def _clock(world: World) -> str:
    created: TestClock = await world.act(
        service.create, frozen_time=START, name="Renewals", metadata=None
    )
    return created.id


async def _attach(world: World, subscription_id: str, test_clock_id: str) -> None:
    async with transaction(world.sessionmaker) as session:
        await session.execute(
            update(Subscription)
            .where(Subscription.id == subscription_id)
            .values(test_clock_id=test_clock_id)
        )


async def _advance(world: World, test_clock_id: str, to: datetime, **kwargs: int) -> None:
    await world.act(service.request_advance, test_clock_id=test_clock_id, to=to)
    await service.advance(
        world.sessionmaker,
        test_clock_id=test_clock_id,
        gateway=world.gateway,
        registry=None,
        **kwargs,
    )


async def _types(world: World) -> list[tuple[str, str]]:
    async with world.sessionmaker() as session:
        events = (await session.scalars(select(Event).order_by(Event.sequence))).all()
    return [(event.type, event.object_id) for event in events]


async def test_the_regular_run_skips_clock_subscriptions_and_the_advance_moves_only_them(
    world: World,
) -> None:
    # Given two subscriptions with a 7-day trial, one of them attached to a test clock
    price = await world.price(3000, trial_period_days=7)
    regular = await world.subscribe(price)
    clocked = await world.subscribe(price)
    test_clock_id = await _clock(world)
    await _attach(world, clocked.subscription_id, test_clock_id)

    # When the platform's clock passes the trial's end and the regular steps run
    world.at(START + timedelta(days=5))
    assert await scheduler.notify_trials_ending(world.sessionmaker, clock=world.clock) == [
        regular.subscription_id
    ]
    world.at(TRIAL_END + timedelta(days=1))
    [regular_invoice] = await billing.renew_due(world.sessionmaker, clock=world.clock)

    # Then only the regular subscription moved
    untouched = await world.subscription(clocked.subscription_id)
    assert untouched.status is SubscriptionStatus.TRIALING
    assert untouched.trial_end_notified_at is None
    assert await world.invoices(clocked.subscription_id) == []

    # When the clock is advanced past the trial's end and two more periods
    target = TRIAL_END + timedelta(days=31 + 30 + 1)  # March 8 → April 8 → May 8, then May 9
    await _advance(world, test_clock_id, target)

    # Then the clock is ready at the target, and three periods were invoiced and paid in order,
    # each at its own instant
    moved = await world.get(TestClock, test_clock_id)
    assert (moved.status, moved.frozen_time, moved.advance_to) == (
        TestClockStatus.READY,
        target,
        None,
    )
    invoices = await world.invoices(clocked.subscription_id)
    starts = [TRIAL_END, TRIAL_END.replace(month=4), TRIAL_END.replace(month=5)]
    assert [(i.period_start, i.status, i.paid_at) for i in invoices] == [
        (start, InvoiceStatus.PAID, start) for start in starts
    ]
    assert [i.period_end for i in invoices] == [*starts[1:], TRIAL_END.replace(month=6)]
    subscription = await world.subscription(clocked.subscription_id)
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert subscription.trial_end_notified_at == TRIAL_END - timedelta(days=3)
    assert len(world.gateway.charges) == 3

    # And the events came in the clock's order: notice, then each renewal invoiced and paid
    # before the next
    ids = {test_clock_id, clocked.subscription_id, *(i.id for i in invoices)}
    for invoice in invoices:
        ids |= {p.id for p in await world.payments(invoice.id)}
    renewal = ["invoice.created", "invoice.finalized", "payment.succeeded", "invoice.paid"]
    assert [t for t, object_id in await _types(world) if object_id in ids] == [
        "subscription.created",
        "test_clock.created",
        "test_clock.advancing",
        "subscription.trial_will_end",
        *renewal,
        "subscription.updated",  # trialing → active
        *renewal,
        *renewal,
        "test_clock.ready",
    ]

    # And the regular subscription's renewal was left to the regular run (still to collect)
    [regular_payment] = await world.payments(regular_invoice)
    assert regular_payment.status is PaymentStatus.PENDING
    assert regular_payment.id not in {order.key for order in world.gateway.charges}

    # When the clock moves again within the same period
    await _advance(world, test_clock_id, target + timedelta(days=10))

    # Then nothing more is invoiced or charged
    assert len(await world.invoices(clocked.subscription_id)) == 3
    assert len(world.gateway.charges) == 3
    assert (await world.get(TestClock, test_clock_id)).status is TestClockStatus.READY


async def test_an_advance_with_too_many_instants_stops_in_internal_failure(world: World) -> None:
    # Given a daily subscription on a clock
    price = await world.price(100, interval=Interval.DAY, trial_period_days=1)
    clocked = await world.subscribe(price)
    test_clock_id = await _clock(world)
    await _attach(world, clocked.subscription_id, test_clock_id)

    # When an advance over ten days may visit only three instants
    await _advance(world, test_clock_id, START + timedelta(days=10), max_steps=3)

    # Then the clock stopped where it was, in internal_failure with the reason
    stopped = await world.get(TestClock, test_clock_id)
    assert stopped.status is TestClockStatus.INTERNAL_FAILURE
    assert stopped.failure_reason == "more than 3 billing instants in one advance"
    assert stopped.frozen_time < START + timedelta(days=10)
    assert ("test_clock.internal_failure", test_clock_id) in await _types(world)


async def test_deleting_a_clock_cancels_its_subscriptions_only(world: World) -> None:
    # Given an active subscription on a clock and one without
    price = await world.price(3000)
    regular = await world.subscribe(price)
    clocked = await world.subscribe(price)
    test_clock_id = await _clock(world)
    await _attach(world, clocked.subscription_id, test_clock_id)

    # When the clock is deleted
    deleted: TestClock = await world.act(service.delete, test_clock_id=test_clock_id)

    # Then its subscription is canceled at the clock's time, the other is untouched
    assert deleted.deleted_at == START
    canceled = await world.subscription(clocked.subscription_id)
    assert (canceled.status, canceled.canceled_at) == (SubscriptionStatus.CANCELED, START)
    assert (await world.subscription(regular.subscription_id)).status is SubscriptionStatus.ACTIVE
    assert ("test_clock.deleted", test_clock_id) in await _types(world)
    async with world.sessionmaker() as session:
        payments = (await session.scalars(select(Payment))).all()
    assert len(payments) == 2
