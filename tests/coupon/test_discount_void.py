"""A `once` discount used up by an invoice that is voided before being paid is given back: the next
invoice gets it — once per void, never over a coupon applied since, and not for an invoice marked
uncollectible."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.db.engine import transaction
from cyphera.invoice import service as invoices
from cyphera.models import Coupon, Invoice
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.models.workspace import DunningFinalStatus
from cyphera.subscription import actions, billing, changes, discounts, lifecycle
from cyphera.subscription.change_schemas import SubscriptionUpdate
from tests.coupon.helpers import apply, current_discount, lines, make_coupon, renew
from tests.subscription.conftest import START
from tests.subscription.helpers import Subscribed, World

S = SubscriptionStatus
PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
RENEWAL = PERIOD_END + timedelta(seconds=1)
NEXT_RENEWAL = PERIOD_END.replace(month=5) + timedelta(seconds=1)
LAST_RENEWAL = PERIOD_END.replace(month=6) + timedelta(seconds=1)


async def failed_renewal_with_a_once_discount(world: World) -> tuple[Subscribed, str, Invoice]:
    """A subscription at 30.00 whose renewal used up a once 25% discount and failed: past_due,
    its invoice open with no payment in flight."""
    sub = await world.subscribe(await world.price(3000))
    coupon_id = await make_coupon(world, percent_off=25, duration="once")
    world.at(START + timedelta(days=1))
    await apply(world, sub.subscription_id, coupon_id)
    world.gateway.fail_with("insufficient_balance")
    invoice = await renew(world, RENEWAL)
    assert (invoice.amount_due, invoice.status) == (2250, InvoiceStatus.OPEN)
    assert await current_discount(world, sub.subscription_id) is None
    world.gateway.succeed()
    return sub, coupon_id, invoice


async def void(world: World, subscription_id: str, invoice_id: str) -> None:
    """Void `invoice_id` as the callers do: subscription, then invoice, locked."""
    async with transaction(world.sessionmaker) as session:
        await lifecycle.get_for_update(session, subscription_id)
        invoice = await invoices.get_for_update(session, invoice_id)
        await invoices.void(session, invoice=invoice)


async def test_a_voided_invoice_gives_its_once_discount_to_the_next_one(world: World) -> None:
    sub, coupon_id, voided = await failed_renewal_with_a_once_discount(world)
    [(_, used_by_void)] = [
        (kind, amount) for kind, amount in await lines(world, voided.id) if kind == "discount"
    ]

    # When the merchant pauses it (its open invoice is voided), then resumes it
    world.at(RENEWAL + timedelta(days=2))
    await world.act(actions.pause, subscription_id=sub.subscription_id)
    restored = await current_discount(world, sub.subscription_id)
    world.at(RENEWAL + timedelta(days=4))
    await world.act(actions.resume, subscription_id=sub.subscription_id)

    # Then the voided invoice's discount is current again, and the next renewal gets it
    assert (await world.get(Invoice, voided.id)).status is InvoiceStatus.VOID
    assert restored is not None
    assert restored.coupon_id == coupon_id
    renewal = await renew(world, NEXT_RENEWAL)
    assert (renewal.amount_due, renewal.status) == (2250, InvoiceStatus.PAID)
    assert await lines(world, renewal.id) == [("subscription", 3000), ("discount", used_by_void)]
    assert world.gateway.charges[-1].amount == 2250 * 10**4
    # And only once: the renewal used it up again
    assert await current_discount(world, sub.subscription_id) is None
    assert (await renew(world, LAST_RENEWAL)).amount_due == 3000
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1


async def test_a_proration_invoice_voided_by_a_refused_charge_gives_its_discount_back(
    world: World,
) -> None:
    # Given an always_invoice upgrade whose proration invoice used up a once 25% discount
    sub = await world.subscribe(await world.price(1500), cap_cents=3000)
    dearer = await world.price(3000)
    await apply(
        world, sub.subscription_id, await make_coupon(world, percent_off=25, duration="once")
    )
    world.at(START + timedelta(days=10))
    await world.act(
        changes.update,
        subscription_id=sub.subscription_id,
        data=SubscriptionUpdate(price=dearer, proration_behavior="always_invoice"),
    )
    [proration] = [i for i in await world.invoices(sub.subscription_id) if i.period_index is None]
    assert proration.amount_due == 1015 - 253

    # When the subscription is paused while its collection is queued, and the job then runs
    await world.act(actions.pause, subscription_id=sub.subscription_id)
    await world.collect_pending()  # refused: subscription_paused; the invoice is voided

    # Then the discount is back, and the first renewal after the resume gets it
    assert (await world.get(Invoice, proration.id)).status is InvoiceStatus.VOID
    assert len(world.gateway.charges) == 1
    assert await current_discount(world, sub.subscription_id) is not None
    await world.act(actions.resume, subscription_id=sub.subscription_id)
    assert (await renew(world, RENEWAL)).amount_due == 3000 - 750


async def test_voiding_twice_gives_the_discount_back_once(world: World) -> None:
    sub, _, voided = await failed_renewal_with_a_once_discount(world)
    await void(world, sub.subscription_id, voided.id)
    discount = await current_discount(world, sub.subscription_id)
    assert discount is not None
    # The next invoice uses it up again (left open)
    await world.act(actions.pause, subscription_id=sub.subscription_id)
    await world.act(actions.resume, subscription_id=sub.subscription_id)
    world.at(NEXT_RENEWAL)
    [next_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert await current_discount(world, sub.subscription_id) is None

    # When the first invoice is voided again
    await void(world, sub.subscription_id, voided.id)

    # Then nothing happens: the discount stays with the invoice that holds it now
    assert await current_discount(world, sub.subscription_id) is None
    assert (await world.event_types(voided.id)).count("invoice.voided") == 1
    assert [kind for kind, _ in await lines(world, next_id)] == ["subscription", "discount"]
    # And voiding that one gives it back, once more
    await void(world, sub.subscription_id, next_id)
    again = await current_discount(world, sub.subscription_id)
    assert again is not None
    assert again.id == discount.id


async def test_concurrent_voids_give_the_discount_back_once(world: World) -> None:
    sub, _, voided = await failed_renewal_with_a_once_discount(world)

    async def void_in(session: AsyncSession) -> None:
        await lifecycle.get_for_update(session, sub.subscription_id)
        invoice = await invoices.get_for_update(session, voided.id)
        await invoices.void(session, invoice=invoice)

    async with world.sessionmaker() as first, world.sessionmaker() as second:
        await first.begin()
        await second.begin()
        await void_in(first)  # holds the subscription's and the invoice's locks
        waiting = asyncio.ensure_future(void_in(second))
        await asyncio.sleep(0)
        assert not waiting.done()
        await first.commit()
        await waiting
        await second.commit()

    assert (await world.event_types(voided.id)).count("invoice.voided") == 1
    discount = await current_discount(world, sub.subscription_id)
    assert discount is not None
    assert discount.ended_at is None


@pytest.mark.parametrize("later", ["applied", "applied_then_removed"])
async def test_a_coupon_applied_since_is_never_overridden(world: World, later: str) -> None:
    sub, _, voided = await failed_renewal_with_a_once_discount(world)
    other = await make_coupon(world, percent_off=10, duration="forever")
    await apply(world, sub.subscription_id, other)
    if later == "applied_then_removed":
        async with transaction(world.sessionmaker) as session:
            subscription = await lifecycle.get_for_update(session, sub.subscription_id)
            await discounts.remove(session, subscription=subscription, at=world.clock.now())

    await world.act(actions.pause, subscription_id=sub.subscription_id)
    await world.act(actions.resume, subscription_id=sub.subscription_id)

    assert (await world.get(Invoice, voided.id)).status is InvoiceStatus.VOID
    current = await current_discount(world, sub.subscription_id)
    if later == "applied":
        assert current is not None
        assert current.coupon_id == other
        assert (await renew(world, NEXT_RENEWAL)).amount_due == 2700
    else:
        assert current is None
        assert (await renew(world, NEXT_RENEWAL)).amount_due == 3000


async def test_an_uncollectible_invoice_keeps_its_once_discount_used_up(world: World) -> None:
    await world.set_dunning_final_status(DunningFinalStatus.UNPAID)
    sub = await world.subscribe(await world.price(3000))
    await apply(
        world, sub.subscription_id, await make_coupon(world, percent_off=25, duration="once")
    )
    world.gateway.fail_with("permission_revoked")  # permanent: dunning gives up at once

    invoice = await renew(world, RENEWAL)

    assert (await world.get(Invoice, invoice.id)).status is InvoiceStatus.UNCOLLECTIBLE
    assert (await world.subscription(sub.subscription_id)).status is S.UNPAID
    assert await current_discount(world, sub.subscription_id) is None
