"""A permission's expiry: ``permission.expiring`` once, a week ahead (`cyphera.permission.expiry`);
and past its expiry, billing's own path (`billing.unusable_code` → ``permission_expired``)
ends the subscription's dunning without a charge. The clock is frozen and moved by hand."""

from __future__ import annotations

from datetime import timedelta

from cyphera.db.engine import transaction
from cyphera.models import Invoice, Permission
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.expiry import notify_expiring
from cyphera.subscription import billing
from tests.subscription.conftest import START
from tests.subscription.helpers import World

PERIOD_END = START + timedelta(days=31)


async def expire_at(world: World, permission_id: str, days: int) -> None:
    async with transaction(world.sessionmaker) as session:
        permission = await session.get_one(Permission, permission_id)
        permission.expires_at = START + timedelta(days=days)


async def test_a_permission_expiring_within_a_week_is_announced_once(world: World) -> None:
    sub = await world.subscribe(await world.price())
    await expire_at(world, sub.permission_id, days=60)
    later = await world.subscribe(await world.price())  # expires in three years

    # Eight days before: not yet
    world.at(START + timedelta(days=52))
    assert await notify_expiring(world.sessionmaker, clock=world.clock) == []

    # Seven days before: once
    world.at(START + timedelta(days=53))
    assert await notify_expiring(world.sessionmaker, clock=world.clock) == [sub.permission_id]
    data = await world.last_event(sub.permission_id, "permission.expiring")
    assert data["expires_at"] == int((START + timedelta(days=60)).timestamp())
    world.at(START + timedelta(days=55))
    assert await notify_expiring(world.sessionmaker, clock=world.clock) == []
    assert (await world.event_types(sub.permission_id)).count("permission.expiring") == 1
    assert "permission.expiring" not in await world.event_types(later.permission_id)
    async with world.sessionmaker() as session:
        permission = await session.get_one(Permission, sub.permission_id)
        assert permission.expiry_notified_at == START + timedelta(days=53)


async def test_a_shorter_notice_and_revoked_or_expired_permissions(world: World) -> None:
    soon = await world.subscribe(await world.price())
    revoked = await world.subscribe(await world.price())
    gone = await world.subscribe(await world.price())
    await expire_at(world, soon.permission_id, days=10)
    await expire_at(world, revoked.permission_id, days=10)
    await expire_at(world, gone.permission_id, days=1)
    await world.revoke(revoked.permission_id)
    world.at(START + timedelta(days=4))  # six days before `soon` expires, after `gone` did

    assert (
        await notify_expiring(world.sessionmaker, clock=world.clock, notice=timedelta(days=1)) == []
    )
    assert await notify_expiring(world.sessionmaker, clock=world.clock) == [soon.permission_id]


async def test_past_its_expiry_billing_ends_the_subscription_without_a_charge(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price())
    await expire_at(world, sub.permission_id, days=20)
    world.at(PERIOD_END + timedelta(seconds=1))

    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)

    assert await world.payments(invoice_id) == []
    assert len(world.gateway.charges) == 1  # the first period only
    assert (await world.subscription(sub.subscription_id)).status is SubscriptionStatus.CANCELED
    assert (await world.get(Invoice, invoice_id)).status is InvoiceStatus.UNCOLLECTIBLE
    assert billing.unusable_code(await world.get(Permission, sub.permission_id)) == (
        "permission_expired"
    )
