"""A subscription's discount: add or replace it (``coupon`` on update), remove it.

Each change records ``subscription.updated`` with the previous discount in
``previous_attributes``, as every update does. The on-chain permission is not touched: its cap
stays the undiscounted price, so the end of a discount is always chargeable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.coupon import service as coupons
from cyphera.coupon.schemas import Discount as DiscountBody
from cyphera.exceptions import NotFound
from cyphera.models import Coupon, Discount, Price, Subscription
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import lifecycle
from cyphera.subscription.errors import SubscriptionStateInvalid

ENDED = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})


def body(current: tuple[Discount, Coupon] | None) -> dict[str, Any] | None:
    return None if current is None else DiscountBody.from_model(*current).model_dump(mode="json")


async def apply_coupon(
    session: AsyncSession, *, scope: Scope, subscription: Subscription, coupon_id: str, at: datetime
) -> dict[str, object]:
    """Make `coupon_id` the (locked) subscription's discount from `at`, counting a redemption.
    Returns the previous attributes (empty: it already is the current discount's coupon)."""
    if subscription.status in ENDED:
        raise SubscriptionStateInvalid(
            f"A {subscription.status.value} subscription cannot get a discount.", param="coupon"
        )
    price = await session.get_one(Price, subscription.price_id)
    coupon = await coupons.redeemable(
        session, scope=scope, coupon_id=coupon_id, currency=price.currency, now=at
    )
    current = await coupons.current_discount(session, subscription.id, for_update=True)
    if current is not None and current[1].id == coupon.id:
        return {}
    await coupons.redeem(session, coupon_id=coupon.id, currency=price.currency, now=at)
    await coupons.attach(session, subscription=subscription, coupon=coupon, at=at)
    return {"discount": body(current)}


async def remove(session: AsyncSession, *, subscription: Subscription, at: datetime) -> Discount:
    """End the (locked) subscription's current discount; `NotFound` when it has none."""
    current = await coupons.current_discount(session, subscription.id, for_update=True)
    if current is None:
        raise NotFound(f"Subscription {subscription.id} has no discount", param="discount")
    previous = body(current)
    discount = await coupons.end_current(session, subscription_id=subscription.id, at=at)
    assert discount is not None
    await lifecycle.record_event(
        session, subscription, "subscription.updated", previous={"discount": previous}
    )
    return discount
