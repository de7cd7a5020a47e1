"""Which clock an object lives at: its test clock's ``frozen_time``, or the platform's clock.

Only lookups (models and kit): the checkout, the subscription actions and the worker's collection
task use these to read "now" for a subscription attached to a test clock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.clock import Clock, FrozenClock
from cyphera.models import Invoice, Payment, Subscription, TestClock
from cyphera.testclock import errors


async def clock_for(session: AsyncSession, subscription: Subscription, default: Clock) -> Clock:
    """The clock `subscription` lives at: its test clock frozen at its time, else `default`."""
    if subscription.test_clock_id is None:
        return default
    test_clock = await session.get_one(TestClock, subscription.test_clock_id)
    return FrozenClock(test_clock.frozen_time)


async def clock_for_subscription(
    session: AsyncSession, scope: Scope, subscription_id: str, default: Clock
) -> Clock:
    """`clock_for` by id, in `scope`; `default` for an unknown id (the action then answers 404)."""
    frozen_time = (
        await session.execute(
            scoped(
                select(TestClock.frozen_time)
                .join(Subscription, Subscription.test_clock_id == TestClock.id)
                .where(Subscription.id == subscription_id),
                scope,
            )
        )
    ).scalar_one_or_none()
    return default if frozen_time is None else FrozenClock(frozen_time)


async def clock_for_payment(
    sessionmaker: async_sessionmaker[AsyncSession], payment_id: str, default: Clock
) -> Clock:
    """The clock to collect `payment_id` at: its subscription's test clock, else `default`."""
    async with sessionmaker() as session:
        frozen_time = (
            await session.execute(
                select(TestClock.frozen_time)
                .join(Subscription, Subscription.test_clock_id == TestClock.id)
                .join(Invoice, Invoice.subscription_id == Subscription.id)
                .join(Payment, Payment.invoice_id == Invoice.id)
                .where(Payment.id == payment_id)
            )
        ).scalar_one_or_none()
    return default if frozen_time is None else FrozenClock(frozen_time)


async def get_test_clock(
    session: AsyncSession,
    scope: Scope,
    test_clock_id: str,
    *,
    param: str = "id",
    for_update: bool = False,
) -> TestClock:
    """A test clock of `scope` that is not deleted (for a live key: none, like any test object)."""
    statement = scoped(
        select(TestClock).where(TestClock.id == test_clock_id, TestClock.deleted_at.is_(None)),
        scope,
    )
    if for_update:
        statement = statement.with_for_update()
    test_clock = (await session.execute(statement)).scalar_one_or_none()
    if test_clock is None:
        raise errors.TestClockNotFound(f"No such test clock: {test_clock_id!r}", param=param)
    return test_clock
