"""The periodic steps: registered with the worker, and never two handlers for one subscription."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cyphera.models import Subscription
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import billing, scheduler
from cyphera.worker.app import create_app
from tests.subscription.conftest import START
from tests.subscription.helpers import World


def test_every_step_is_a_periodic_task_of_the_worker() -> None:
    app = create_app("postgresql://unused/unused")

    periodic = {task.periodic_id for task in app.periodic_registry.periodic_tasks.values()}
    assert set(scheduler.PERIODIC_STEPS) <= set(app.tasks)
    assert set(scheduler.PERIODIC_STEPS) <= periodic


async def test_a_subscription_held_by_another_transaction_is_left_for_the_next_run(
    world: World,
) -> None:
    # Given an incomplete subscription due to expire, locked by a concurrent action
    world.gateway.fail_with("insufficient_balance")
    sub = await world.subscribe(await world.price())
    world.at(START + timedelta(hours=23))
    async with world.sessionmaker() as holder, holder.begin():
        await holder.execute(
            select(Subscription).where(Subscription.id == sub.subscription_id).with_for_update()
        )

        # When the step runs meanwhile, it skips it instead of waiting or handling it twice
        assert await scheduler.expire_incomplete(world.sessionmaker, clock=world.clock) == []

    # Then the next run handles it
    assert await scheduler.expire_incomplete(world.sessionmaker, clock=world.clock) == [
        sub.subscription_id
    ]
    expired = await world.subscription(sub.subscription_id)
    assert expired.status is SubscriptionStatus.INCOMPLETE_EXPIRED


async def test_a_renewal_run_takes_every_due_subscription_chunk_by_chunk(world: World) -> None:
    # Given five subscriptions due at once, one more than two chunks of two
    price = await world.price()
    subscribed = [await world.subscribe(price) for _ in range(5)]
    world.at(START + timedelta(days=31))

    # When one run renews them, two per transaction
    taken = await billing.renew_all_due(world.sessionmaker, clock=world.clock, chunk=2)

    # Then every one moved to its next period, and nothing is due any more
    assert taken == 5
    async with world.sessionmaker() as session:
        periods = await session.scalars(
            select(Subscription.period_index).where(
                Subscription.id.in_([s.subscription_id for s in subscribed])
            )
        )
        assert set(periods) == {1}
    assert await billing.renew_all_due(world.sessionmaker, clock=world.clock, chunk=2) == 0
