"""Subscriptions: state and transitions. Nothing sets a status from an API payload.

Transitions implemented here (the rest of Stripe's set grows in this module):

    incomplete ──first invoice paid──▶ active ──renewal failed──▶ past_due ──paid──▶ active
    active ──cancel_at_period_end reached──▶ canceled
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.event import service as events
from cyphera.kit.ids import new_id
from cyphera.kit.periods import Interval, period_start
from cyphera.models import Customer, Permission, Price, Subscription
from cyphera.models.subscription import SubscriptionStatus

CHARGEABLE = frozenset(
    {
        SubscriptionStatus.INCOMPLETE,
        SubscriptionStatus.TRIALING,
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.PAST_DUE,
    }
)
RENEWABLE = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})


def plan_of(price: Price) -> tuple[Interval, int]:
    if price.recurring_interval is None or price.recurring_interval_count is None:
        raise ValueError(f"price {price.id} is not recurring")
    return Interval(price.recurring_interval), price.recurring_interval_count


def period_bounds(
    subscription: Subscription, price: Price, index: int
) -> tuple[datetime, datetime]:
    interval, count = plan_of(price)
    return (
        period_start(subscription.billing_anchor, interval, count, index),
        period_start(subscription.billing_anchor, interval, count, index + 1),
    )


async def create(
    session: AsyncSession,
    *,
    customer: Customer,
    price: Price,
    permission: Permission,
    quantity: int,
    anchor: datetime,
) -> Subscription:
    """A new subscription in `incomplete`, its first period starting at `anchor`."""
    interval, count = plan_of(price)
    subscription = Subscription(
        id=new_id("sub"),
        workspace_id=customer.workspace_id,
        mode=customer.mode,
        customer_id=customer.id,
        price_id=price.id,
        permission_id=permission.id,
        quantity=quantity,
        status=SubscriptionStatus.INCOMPLETE,
        billing_anchor=anchor,
        period_index=0,
        current_period_start=anchor,
        current_period_end=period_start(anchor, interval, count, 1),
        cancel_at_period_end=False,
        metadata_={},
    )
    session.add(subscription)
    await session.flush()
    await _event(session, subscription, "subscription.created")
    return subscription


async def get_for_update(session: AsyncSession, subscription_id: str) -> Subscription:
    return (
        await session.execute(
            select(Subscription).where(Subscription.id == subscription_id).with_for_update()
        )
    ).scalar_one()


async def mark_invoice_paid(session: AsyncSession, subscription: Subscription) -> None:
    if subscription.status in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.PAST_DUE):
        previous = subscription.status
        subscription.status = SubscriptionStatus.ACTIVE
        await _event(session, subscription, "subscription.updated", previous=previous)


async def mark_renewal_failed(session: AsyncSession, subscription: Subscription) -> None:
    if subscription.status is SubscriptionStatus.ACTIVE and subscription.period_index > 0:
        subscription.status = SubscriptionStatus.PAST_DUE
        await _event(
            session, subscription, "subscription.updated", previous=SubscriptionStatus.ACTIVE
        )


async def advance_period(
    session: AsyncSession, *, subscription: Subscription, price: Price
) -> None:
    """Move to the next period (the caller opens its invoice in the same transaction)."""
    index = subscription.period_index + 1
    start, end = period_bounds(subscription, price, index)
    subscription.period_index = index
    subscription.current_period_start = start
    subscription.current_period_end = end


async def end_at_period_end(session: AsyncSession, *, subscription: Subscription) -> None:
    subscription.status = SubscriptionStatus.CANCELED
    subscription.ended_at = subscription.current_period_end
    subscription.canceled_at = subscription.canceled_at or subscription.current_period_end
    await _event(session, subscription, "subscription.canceled")


async def _event(
    session: AsyncSession,
    subscription: Subscription,
    kind: str,
    *,
    previous: SubscriptionStatus | None = None,
) -> None:
    data: dict[str, object] = {"status": subscription.status.value, "price": subscription.price_id}
    if previous is not None:
        data["previous_attributes"] = {"status": previous.value}
    await events.record(
        session,
        workspace_id=subscription.workspace_id,
        mode=subscription.mode,
        type=kind,
        object_id=subscription.id,
        data=data,
    )
