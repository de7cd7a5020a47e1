"""Helpers for discount tests on the subscription `World`: coupons, applying them, renewals, the
lines of an invoice and the subscription's current discount."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from cyphera.coupon import service
from cyphera.coupon.schemas import CouponCreate
from cyphera.db.engine import transaction
from cyphera.models import Discount, Invoice, InvoiceLineItem, Subscription
from cyphera.subscription import billing, changes
from cyphera.subscription.change_schemas import SubscriptionUpdate
from tests.subscription.helpers import World


async def make_coupon(world: World, **fields: Any) -> str:
    async with transaction(world.sessionmaker) as session:
        coupon = await service.create_coupon(
            session, scope=world.scope, data=CouponCreate(**fields), clock=world.clock
        )
    return coupon.id


async def apply(world: World, subscription_id: str, coupon_id: str) -> Subscription:
    result: Subscription = await world.act(
        changes.update,
        subscription_id=subscription_id,
        data=SubscriptionUpdate(coupon=coupon_id),
    )
    return result


async def renew(world: World, at: datetime) -> Invoice:
    """Run the renewal due at `at` (one invoice) and the collections waiting."""
    world.at(at)
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    await world.collect_pending()
    return await world.get(Invoice, invoice_id)


async def lines(world: World, invoice_id: str) -> list[tuple[str, int]]:
    async with world.sessionmaker() as session:
        rows = await session.scalars(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.invoice_id == invoice_id)
            .order_by(InvoiceLineItem.position)
        )
        return [(row.kind.value, row.amount) for row in rows]


async def current_discount(world: World, subscription_id: str) -> Discount | None:
    async with world.sessionmaker() as session:
        return await session.scalar(
            select(Discount).where(
                Discount.subscription_id == subscription_id, Discount.ended_at.is_(None)
            )
        )
