"""Subscriptions: finding one for a merchant and creating one; what a merchant can do to one
lives beside this module.

* `cyphera.subscription.actions`: cancel, pause, resume.
* `cyphera.subscription.changes`: update — price, quantity, interval (with prorations, or a
  ``pending_update`` when a new permission is needed), coupon, metadata — the preview of a change,
  and applying a pending update; `cyphera.subscription.change_plan` works a change out or
  refuses it.

Here: `get_subscription` (scoped, optionally locked), `create` (`lifecycle.create`: checkout
makes subscriptions), and `set_cancel_at_period_end`, which both a cancel at the period's end
and an update set. ``docs/subscriptions.md`` has the long form of the decisions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope, scoped
from cyphera.kit.clock import to_unix
from cyphera.kit.ids import has_prefix
from cyphera.models import Subscription
from cyphera.subscription import lifecycle
from cyphera.subscription.errors import SubscriptionMissing, SubscriptionStateInvalid
from cyphera.subscription.lifecycle import create

__all__ = ["create", "get_subscription", "set_cancel_at_period_end"]

SUBSCRIPTION_ID_PREFIX = "sub"


async def get_subscription(
    session: AsyncSession, *, scope: Scope, subscription_id: str, for_update: bool = False
) -> Subscription:
    """The scope's subscription `subscription_id` (locked if `for_update`), or 404."""
    subscription = None
    if has_prefix(subscription_id, SUBSCRIPTION_ID_PREFIX):
        statement = scoped(select(Subscription).where(Subscription.id == subscription_id), scope)
        if for_update:
            statement = statement.with_for_update()
        subscription = (await session.execute(statement)).scalar_one_or_none()
    if subscription is None:
        raise SubscriptionMissing(f"No such subscription: {subscription_id!r}", param="id")
    return subscription


def set_cancel_at_period_end(
    subscription: Subscription, *, value: bool, at: datetime
) -> dict[str, object]:
    """Set or clear ``cancel_at_period_end``; returns the previous attributes (empty: no change)."""
    if subscription.status not in lifecycle.PERIOD_END_CANCELABLE:
        raise SubscriptionStateInvalid(
            f"cancel_at_period_end can only change while the subscription is trialing, active or "
            f"past_due; this one is {subscription.status.value}.",
            param="cancel_at_period_end",
        )
    if subscription.cancel_at_period_end == value:
        return {}
    previous: dict[str, object] = {
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": (
            None if subscription.canceled_at is None else to_unix(subscription.canceled_at)
        ),
        "cancellation_details": {"reason": subscription.cancellation_reason},
    }
    subscription.cancel_at_period_end = value
    # Stripe's convention: canceled_at is when the cancellation was asked for.
    subscription.canceled_at = at if value else None
    subscription.cancellation_reason = lifecycle.CANCELLATION_REQUESTED if value else None
    return previous
