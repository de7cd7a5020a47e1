"""A discount on price changes: an ``always_invoice`` proration invoice is discounted as a period
invoice is (and uses a `once` discount up), and the preview of a change shows the discounted
amounts the change then invoices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.kit.clock import FrozenClock
from cyphera.models import Coupon, Invoice, Payment
from cyphera.models.invoice import InvoiceStatus
from cyphera.subscription import changes
from cyphera.subscription.change_plan import PriceChange
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.proration import ProrationBehavior
from tests.coupon.helpers import apply, current_discount, lines, make_coupon, renew
from tests.fixtures.api import WorkspaceKeys
from tests.subscription.conftest import START
from tests.subscription.helpers import FakeGateway, World, make_world

PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
CHANGE_AT = START + timedelta(days=10)  # 21 of 31 days left
RENEWAL = PERIOD_END + timedelta(seconds=1)
# 15.00 → 30.00 ten days in: -1017 (floor of -1016.13) + 2032 (floor of 2032.26) = 1015 net
CREDIT, CHARGE, NET = -1017, 2032, 1015
UNITS_PER_CENT = 10**4


async def preview(world: World, subscription_id: str, price_id: str, behavior: str) -> PriceChange:
    result: PriceChange = await world.act(
        changes.preview_change,
        subscription_id=subscription_id,
        price_id=price_id,
        behavior=ProrationBehavior(behavior),
    )
    return result


async def change(world: World, subscription_id: str, **fields: Any) -> None:
    await world.act(
        changes.update, subscription_id=subscription_id, data=SubscriptionUpdate(**fields)
    )


async def proration_invoice(world: World, subscription_id: str) -> Invoice:
    [invoice] = [i for i in await world.invoices(subscription_id) if i.period_index is None]
    return invoice


async def test_a_once_discount_is_used_up_by_the_always_invoice_proration(world: World) -> None:
    # Given a subscription at 15.00 with a once 25% discount
    sub = await world.subscribe(await world.price(1500), cap_cents=3000)
    dearer = await world.price(3000)
    coupon_id = await make_coupon(world, name="Launch", percent_off=25, duration="once")
    await apply(world, sub.subscription_id, coupon_id)
    world.at(CHANGE_AT)
    shown = await preview(world, sub.subscription_id, dearer, "always_invoice")

    # When it moves to 30.00 ten days in, invoicing the proration at once
    await change(world, sub.subscription_id, price=dearer, proration_behavior="always_invoice")
    await world.collect_pending()

    # Then the proration invoice is discounted with the renewal's line and rounding
    invoice = await proration_invoice(world, sub.subscription_id)
    assert await lines(world, invoice.id) == [
        ("proration", CREDIT),
        ("proration", CHARGE),
        ("discount", -253),  # floor(1015 × 2500 / 10000) = floor(253.75)
    ]
    assert (invoice.amount_due, invoice.status) == (NET - 253, InvoiceStatus.PAID)
    assert world.gateway.charges[-1].amount == 762 * UNITS_PER_CENT
    created = await world.last_event(invoice.id, "invoice.created")
    assert created["amount_due"] == 762
    # And it used the discount up: the renewal is charged in full
    assert await current_discount(world, sub.subscription_id) is None
    renewal = await renew(world, RENEWAL)
    assert (renewal.amount_due, await lines(world, renewal.id)) == (3000, [("subscription", 3000)])
    assert (await world.get(Coupon, coupon_id)).times_redeemed == 1
    # And the preview said so beforehand
    assert (shown.proration_amount, shown.amount_due_now) == (NET, 762)
    assert shown.next_amount_due == renewal.amount_due == 3000


async def test_a_discount_taking_the_proration_to_zero_pays_it_without_a_charge(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(1500), cap_cents=3000)
    dearer = await world.price(3000)
    coupon_id = await make_coupon(world, amount_off=2000, currency="usd", duration="forever")
    await apply(world, sub.subscription_id, coupon_id)
    world.at(CHANGE_AT)
    shown = await preview(world, sub.subscription_id, dearer, "always_invoice")

    await change(world, sub.subscription_id, price=dearer, proration_behavior="always_invoice")

    invoice = await proration_invoice(world, sub.subscription_id)
    assert await lines(world, invoice.id) == [
        ("proration", CREDIT),
        ("proration", CHARGE),
        ("discount", -NET),  # an amount never takes an invoice below zero
    ]
    assert (invoice.amount_due, invoice.status, invoice.paid_at) == (
        0,
        InvoiceStatus.PAID,
        CHANGE_AT,
    )
    assert await world.payments(invoice.id) == []
    assert len(world.gateway.charges) == 1  # only the first period's
    # A forever discount keeps applying
    renewal = await renew(world, RENEWAL)
    assert renewal.amount_due == 1000
    assert (shown.amount_due_now, shown.next_amount_due) == (0, 1000)


async def test_a_coupon_applied_with_the_change_discounts_its_proration(world: World) -> None:
    sub = await world.subscribe(await world.price(1500), cap_cents=3000)
    dearer = await world.price(3000)
    coupon_id = await make_coupon(world, percent_off=10, duration="once")
    world.at(CHANGE_AT)

    await change(
        world,
        sub.subscription_id,
        price=dearer,
        proration_behavior="always_invoice",
        coupon=coupon_id,
    )

    invoice = await proration_invoice(world, sub.subscription_id)
    assert invoice.amount_due == NET - 101  # floor(101.5)
    [payment] = await world.payments(invoice.id)
    assert payment.amount == (NET - 101) * UNITS_PER_CENT
    assert await current_discount(world, sub.subscription_id) is None
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"]["discount"] is None
    assert event["previous_attributes"]["price"] == sub.price_id


async def test_an_expired_repeating_discount_leaves_the_proration_whole(world: World) -> None:
    # A repeating discount of one month from START covers the first period only
    sub = await world.subscribe(await world.price(1500), cap_cents=3000)
    dearer = await world.price(3000)
    coupon_id = await make_coupon(world, percent_off=50, duration="repeating", duration_in_months=1)
    await apply(world, sub.subscription_id, coupon_id)
    assert (await renew(world, RENEWAL)).amount_due == 1500  # period 2 starts at its end
    world.at(RENEWAL + timedelta(days=10))

    await change(world, sub.subscription_id, price=dearer, proration_behavior="always_invoice")

    invoice = await proration_invoice(world, sub.subscription_id)
    assert [kind for kind, _ in await lines(world, invoice.id)] == ["proration", "proration"]
    assert invoice.amount_due == sum(amount for _, amount in await lines(world, invoice.id))


async def test_a_credit_is_not_invoiced_and_leaves_a_once_discount_for_the_renewal(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    coupon_id = await make_coupon(world, percent_off=25, duration="once")
    await apply(world, sub.subscription_id, coupon_id)
    world.at(CHANGE_AT)
    shown = await preview(world, sub.subscription_id, cheaper, "always_invoice")

    await change(world, sub.subscription_id, price=cheaper, proration_behavior="always_invoice")

    assert len(await world.invoices(sub.subscription_id)) == 1
    renewal = await renew(world, RENEWAL)
    # 1500 less the 1017 credit = 483, less floor(483 × 25%) = 120
    assert renewal.amount_due == shown.next_amount_due == 363
    assert shown.amount_due_now == 0


@pytest.mark.parametrize(
    ("coupon", "next_amount_due"),
    [
        ({"percent_off": 10, "duration": "forever"}, 483 - 48),
        ({"amount_off": 500, "currency": "usd", "duration": "once"}, 0),
        ({"percent_off": 50, "duration": "repeating", "duration_in_months": 1}, 483),
    ],
)
async def test_the_preview_of_a_create_prorations_change_matches_the_renewal(
    world: World, coupon: dict[str, Any], next_amount_due: int
) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    await apply(world, sub.subscription_id, await make_coupon(world, **coupon))
    world.at(CHANGE_AT)

    shown = await preview(world, sub.subscription_id, cheaper, "create_prorations")
    await change(world, sub.subscription_id, price=cheaper)

    assert (shown.proration_balance, shown.next_amount_due) == (-1017, next_amount_due)
    assert (await renew(world, RENEWAL)).amount_due == next_amount_due


# --- the preview over HTTP -----------------------------------------------------------------------


@pytest.fixture
async def merchant(
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
    workspace: WorkspaceKeys,
) -> World:
    api_clock.set(START)
    return await make_world(sessionmaker, api_clock, FakeGateway(), workspace.workspace_id)


async def test_the_preview_endpoint_reports_the_discounted_amounts(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(1500), cap_cents=3000)
    dearer = await merchant.price(3000)
    coupon = (await api.post("/v1/coupons", json={"percent_off": 25, "duration": "once"})).json()
    applied = await api.post(
        f"/v1/subscriptions/{sub.subscription_id}", json={"coupon": coupon["id"]}
    )
    assert applied.status_code == 200, applied.text
    merchant.at(CHANGE_AT)

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change",
        params={"price": dearer, "proration_behavior": "always_invoice"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [line["amount"] for line in body["lines"]] == [CREDIT, CHARGE]
    assert (body["proration_amount"], body["amount_due_now"]) == (NET, 762)
    assert body["next_invoice"]["amount_due"] == 3000  # the once discount went to the proration
    # Nothing changed: the discount is still there for a real change to use
    assert await current_discount(merchant, sub.subscription_id) is not None
    assert await merchant.count(Payment) == 1
