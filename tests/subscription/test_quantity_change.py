"""Quantity (seat) changes: alone or with the price, prorated as a price change is (every amount is
unit price × quantity), applied at once within the on-chain cap, waiting as a ``pending_update``
for a larger permission above it, and previewed exactly as they apply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.db.engine import transaction
from cyphera.kit.clock import FrozenClock
from cyphera.kit.hosted import DEV_HOSTED_SECRET
from cyphera.kit.money import Cents, cents_to_token_units
from cyphera.kit.periods import Interval
from cyphera.models import CheckoutSession, Invoice, InvoiceLineItem, Permission
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.invoice_line_item import InvoiceLineKind
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import actions, billing, changes
from cyphera.subscription.change_plan import PriceChange
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.errors import PermissionInsufficient, SubscriptionStateInvalid
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from tests.fixtures.api import WorkspaceKeys
from tests.subscription.conftest import START
from tests.subscription.helpers import (
    FakeGateway,
    World,
    make_world,
    sign_and_complete,
    subscribe_through_checkout,
)

S = SubscriptionStatus
PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
CHANGE_AT = START + timedelta(days=10)  # 21 of 31 days left
UNITS = 10**4  # token units per cent (6 decimals)
NETWORK = "base-sepolia"
BASE_URL = "https://api.example.test"


async def change(
    world: World,
    subscription_id: str,
    *,
    requester: PermissionRequester | None = None,
    **fields: Any,
) -> None:
    async with transaction(world.sessionmaker) as session:
        await changes.update(
            session,
            scope=world.scope,
            subscription_id=subscription_id,
            data=SubscriptionUpdate(**fields),
            clock=world.clock,
            requester=requester,
        )


async def preview(
    world: World,
    subscription_id: str,
    *,
    quantity: int | None = None,
    price_id: str | None = None,
    behavior: ProrationBehavior = ProrationBehavior.CREATE_PRORATIONS,
) -> PriceChange:
    async with world.sessionmaker() as session:
        return await changes.preview_change(
            session,
            scope=world.scope,
            subscription_id=subscription_id,
            price_id=price_id,
            quantity=quantity,
            behavior=behavior,
            clock=world.clock,
        )


async def lines_of(world: World, invoice_id: str) -> list[InvoiceLineItem]:
    async with world.sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(InvoiceLineItem)
                    .where(InvoiceLineItem.invoice_id == invoice_id)
                    .order_by(InvoiceLineItem.position)
                )
            ).all()
        )


async def renew(world: World) -> Invoice:
    world.at(PERIOD_END + timedelta(seconds=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    return await world.get(Invoice, invoice_id)


# --- within the permission's cap ----------------------------------------------------------------


async def test_more_seats_within_the_cap_apply_at_once_and_prorate(world: World) -> None:
    # Given 1 seat at 10.00 a month, under a permission of 50.00 per window
    sub = await world.subscribe(await world.price(1000), cap_cents=5000)
    world.at(CHANGE_AT)

    # When it moves to 3 seats ten days in
    await change(world, sub.subscription_id, quantity=3)

    # Then the quantity changed now; the net proration (21 of 31 days) waits for the next invoice
    changed = await world.subscription(sub.subscription_id)
    # -1000 × 21/31 floored to -678, 3000 × 21/31 floored to 2032
    assert (changed.quantity, changed.price_id, changed.proration_balance) == (
        3,
        sub.price_id,
        1354,
    )
    assert changed.pending_checkout_session_id is None
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["quantity"] == 3
    assert event["previous_attributes"] == {"quantity": 1, "proration_balance": 0}
    assert len(world.gateway.charges) == 1

    # And the renewal bills 3 seats plus the proration
    renewal = await renew(world)
    assert renewal.amount_due == 3000 + 1354
    lines = await lines_of(world, renewal.id)
    assert [(line.kind, line.quantity, line.unit_amount, line.amount) for line in lines] == [
        (InvoiceLineKind.SUBSCRIPTION, 3, 1000, 3000),
        (InvoiceLineKind.PRORATION, None, None, 1354),
    ]
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert world.gateway.charges[-1].amount == 4354 * UNITS


async def test_the_preview_of_a_quantity_alone_is_what_the_change_does(world: World) -> None:
    sub = await world.subscribe(await world.price(1000), cap_cents=5000)
    world.at(CHANGE_AT)
    events_before = await world.event_types(sub.subscription_id)

    shown = await preview(world, sub.subscription_id, quantity=3)

    assert await world.event_types(sub.subscription_id) == events_before
    assert (await world.subscription(sub.subscription_id)).quantity == 1
    assert (shown.new_price.id, shown.old_quantity, shown.new_quantity) == (sub.price_id, 1, 3)
    assert [(line.description, line.amount, line.price_id) for line in shown.lines] == [
        ("Unused time on the previous quantity (1)", -678, sub.price_id),
        ("Remaining time on the new quantity (3)", 2032, sub.price_id),
    ]
    assert (shown.requires_new_permission, shown.new_permission_cap) == (False, None)
    assert (shown.amount_due_now, shown.next_period_start, shown.next_amount_due) == (
        0,
        PERIOD_END,
        4354,
    )

    await change(world, sub.subscription_id, quantity=3)

    changed = await world.subscription(sub.subscription_id)
    assert (changed.quantity, changed.proration_balance) == (3, shown.proration_balance)
    assert (await renew(world)).amount_due == shown.next_amount_due


async def test_always_invoice_charges_more_seats_now_within_the_window(world: World) -> None:
    # 10.00 already charged in this window of a 50.00 permission: 40.00 of room is left
    sub = await world.subscribe(await world.price(1000), cap_cents=5000)
    world.at(CHANGE_AT)

    await change(world, sub.subscription_id, quantity=3, proration_behavior="always_invoice")

    [proration] = [i for i in await world.invoices(sub.subscription_id) if i.period_index is None]
    assert proration.amount_due == 1354
    assert [line.amount for line in await lines_of(world, proration.id)] == [-678, 2032]
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert world.gateway.charges[-1].amount == 1354 * UNITS
    changed = await world.subscription(sub.subscription_id)
    assert (changed.quantity, changed.proration_balance) == (3, 0)


async def test_fewer_seats_give_a_credit_that_carries_over(world: World) -> None:
    # Given 3 seats at 10.00 (moved up from 1 without proration)
    sub = await world.subscribe(await world.price(1000), cap_cents=3000)
    await change(world, sub.subscription_id, quantity=3, proration_behavior="none")
    assert (await world.subscription(sub.subscription_id)).proration_balance == 0
    world.at(CHANGE_AT)

    # When it goes back to 1 seat ten days in
    await change(world, sub.subscription_id, quantity=1)

    # Then the unused time of 3 seats is credited, less 1 seat's remaining time
    changed = await world.subscription(sub.subscription_id)
    # -3000 × 21/31 floored to -2033, 1000 × 21/31 floored to 677
    assert (changed.quantity, changed.proration_balance) == (1, -1356)
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {"quantity": 3, "proration_balance": 0}

    # And the renewal of 1 seat is paid by the credit without a charge; the rest carries over
    renewal = await renew(world)
    assert (renewal.amount_due, renewal.status) == (0, InvoiceStatus.PAID)
    assert await world.payments(renewal.id) == []
    assert (await world.subscription(sub.subscription_id)).proration_balance == -356
    assert len(world.gateway.charges) == 1


async def test_price_and_quantity_change_together(world: World) -> None:
    sub = await world.subscribe(await world.price(1000), cap_cents=5000)
    dearer = await world.price(1500)
    world.at(CHANGE_AT)
    shown = await preview(world, sub.subscription_id, price_id=dearer, quantity=2)

    await change(world, sub.subscription_id, price=dearer, quantity=2)

    # -1000 × 21/31 floored to -678, 2 × 1500 × 21/31 floored to 2032
    assert [(line.description, line.amount) for line in shown.lines] == [
        ("Unused time on the previous price", -678),
        ("Remaining time on 2 × the new price", 2032),
    ]
    changed = await world.subscription(sub.subscription_id)
    assert (changed.price_id, changed.quantity, changed.proration_balance) == (dearer, 2, 1354)
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {
        "price": sub.price_id,
        "quantity": 1,
        "proration_balance": 0,
    }
    renewal = await renew(world)
    assert renewal.amount_due == shown.next_amount_due == 3000 + 1354
    first_line = (await lines_of(world, renewal.id))[0]
    assert (first_line.price_id, first_line.quantity, first_line.amount) == (dearer, 2, 3000)


async def test_the_same_price_and_quantity_change_nothing(world: World) -> None:
    sub = await world.subscribe(await world.price(1000), cap_cents=5000)
    world.at(CHANGE_AT)
    events_before = await world.event_types(sub.subscription_id)

    await change(world, sub.subscription_id, quantity=1)
    await change(
        world, sub.subscription_id, price=sub.price_id, quantity=1, proration_behavior="none"
    )

    assert await world.event_types(sub.subscription_id) == events_before
    unchanged = await world.subscription(sub.subscription_id)
    assert (unchanged.quantity, unchanged.proration_balance) == (1, 0)
    same = await preview(world, sub.subscription_id, quantity=1)
    assert (same.lines, same.proration_balance, same.next_amount_due) == ([], 0, 1000)


async def test_a_quantity_change_during_the_trial_has_no_proration(world: World) -> None:
    sub = await world.subscribe(await world.price(1000, trial_period_days=14), cap_cents=3000)
    world.at(START + timedelta(days=5))

    await change(world, sub.subscription_id, quantity=3)

    changed = await world.subscription(sub.subscription_id)
    assert (changed.quantity, changed.proration_balance, changed.status) == (3, 0, S.TRIALING)
    world.at(START + timedelta(days=14, seconds=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert (await world.get(Invoice, invoice_id)).amount_due == 3000


async def test_without_a_requester_seats_above_the_cap_are_refused(world: World) -> None:
    sub = await world.subscribe(await world.price(1000), cap_cents=2000)
    events_before = await world.event_types(sub.subscription_id)

    with pytest.raises(PermissionInsufficient) as refused:
        await change(world, sub.subscription_id, quantity=3)

    assert refused.value.param == "quantity"
    assert "3000 cents" in refused.value.message
    assert (await world.subscription(sub.subscription_id)).quantity == 1
    assert await world.event_types(sub.subscription_id) == events_before


async def test_the_quantity_cannot_change_while_paused(world: World) -> None:
    sub = await world.subscribe(await world.price(1000), cap_cents=5000)
    await world.act(actions.pause, subscription_id=sub.subscription_id)

    with pytest.raises(SubscriptionStateInvalid) as refused:
        await change(world, sub.subscription_id, quantity=2)

    assert refused.value.param == "quantity"
    assert (await world.subscription(sub.subscription_id)).quantity == 1


# --- above the cap: a pending update --------------------------------------------------------------


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


@pytest.fixture
def requester(world: World, registry: NetworkRegistry) -> PermissionRequester:
    return PermissionRequester(
        registry=registry,
        gateway=world.gateway,
        permission_lifetime=timedelta(days=365),
        base_url=BASE_URL,
        hosted_secret=DEV_HOSTED_SECRET.encode(),
    )


async def subscribed(world: World, registry: NetworkRegistry) -> tuple[str, LocalAccount]:
    """1 seat of a 30.00/month price, through a real checkout (cap 30.00), first period paid."""
    price_id = await world.price(3000)
    return await subscribe_through_checkout(world, registry, price_id, network=NETWORK)


async def test_seats_above_the_cap_wait_for_a_larger_permission_then_apply(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    # Given 1 seat at 30.00 under a permission of 30.00 per window
    subscription_id, customer = await subscribed(world, registry)
    before = await world.subscription(subscription_id)
    old_id = before.permission_id
    world.clock.advance(timedelta(days=10))
    shown = await preview(
        world, subscription_id, quantity=2, behavior=ProrationBehavior.ALWAYS_INVOICE
    )
    assert (shown.requires_new_permission, shown.new_permission_cap) == (True, 6000)

    # When the merchant asks for 2 seats
    await change(
        world,
        subscription_id,
        requester=requester,
        quantity=2,
        proration_behavior="always_invoice",
    )

    # Then nothing changes yet: a pending update asks for a permission of 2 × 30.00 per window
    pending = await world.subscription(subscription_id)
    assert (pending.quantity, pending.price_id, pending.permission_id) == (
        1,
        before.price_id,
        old_id,
    )
    assert (pending.pending_price_id, pending.pending_quantity) == (before.price_id, 2)
    assert pending.pending_checkout_session_id is not None
    session = await world.get(CheckoutSession, pending.pending_checkout_session_id)
    assert (session.price_id, session.quantity, session.amount_cents) == (before.price_id, 2, 6000)
    assert session.period_amount == cents_to_token_units(Cents(6000), token_decimals=6)
    event = await world.last_event(subscription_id, "subscription.updated")
    assert (event["quantity"], event["pending_update"]["quantity"]) == (1, 2)
    assert event["previous_attributes"] == {"pending_update": None}
    assert len(await world.invoices(subscription_id)) == 1

    # When the customer grants it an hour later
    world.clock.advance(timedelta(hours=1))
    completed = await sign_and_complete(world, registry, session.id, customer)

    # Then 2 seats apply under the new permission, the proration charged at once under it
    assert completed.checkout.status is CheckoutSessionStatus.COMPLETE
    after = await world.subscription(subscription_id)
    assert (after.quantity, after.price_id) == (2, before.price_id)
    assert after.permission_id not in (None, old_id)
    assert after.pending_checkout_session_id is None
    new = await world.get(Permission, after.permission_id or "")
    assert new.period_amount == 6000 * UNITS
    left, period = 20 * 86_400 + 23 * 3_600, 31 * 86_400
    expected = (6000 * left) // period + (-3000 * left) // period
    assert completed.payment is not None
    assert completed.payment.amount_cents == expected
    assert completed.payment.permission_id == new.id
    assert await world.collect(completed.payment.id) is PaymentStatus.SUCCEEDED
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["quantity"] == 2
    assert event["pending_update"] is None
    assert event["previous_attributes"]["quantity"] == 1
    assert event["previous_attributes"]["permission"] == old_id
    assert event["previous_attributes"]["pending_update"]["quantity"] == 2
    assert "price" not in event["previous_attributes"]

    # And the renewal bills 2 seats under the new permission
    world.at(after.current_period_end + timedelta(seconds=1))
    [renewal_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert (await world.get(Invoice, renewal_id)).amount_due == 6000
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert world.gateway.charges[-1].amount == 6000 * UNITS
    assert world.gateway.charges[-1].permission_context == new.context


async def test_fewer_seats_replace_a_pending_increase(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    await change(world, subscription_id, requester=requester, quantity=4, proration_behavior="none")
    pending_id = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending_id is not None

    await change(world, subscription_id, requester=requester, quantity=1)
    # The same quantity is no change: the pending increase stays.
    assert (await world.subscription(subscription_id)).pending_checkout_session_id == pending_id

    cheaper = await world.price(1000)
    # 3 × 10.00 fits the 30.00 cap: it applies at once and drops the pending increase.
    await change(world, subscription_id, requester=requester, price=cheaper, quantity=3)

    after = await world.subscription(subscription_id)
    assert (after.price_id, after.quantity, after.pending_checkout_session_id) == (
        cheaper,
        3,
        None,
    )
    assert (await world.get(CheckoutSession, pending_id)).status is CheckoutSessionStatus.EXPIRED


# --- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
async def merchant(
    sessionmaker: async_sessionmaker[AsyncSession],
    api_clock: FrozenClock,
    workspace: WorkspaceKeys,
) -> World:
    return await make_world(sessionmaker, api_clock, FakeGateway(), workspace.workspace_id)


async def test_change_the_quantity_over_http(api: httpx.AsyncClient, merchant: World) -> None:
    sub = await merchant.subscribe(await merchant.price(1000), cap_cents=5000)
    merchant.clock.advance(timedelta(days=10))
    path = f"/v1/subscriptions/{sub.subscription_id}"

    shown = await api.get(path + "/preview_change", params={"quantity": 3})
    changed = await api.post(path, json={"quantity": 3})

    assert shown.status_code == 200, shown.text
    preview_body = shown.json()
    assert (preview_body["price"], preview_body["quantity"]) == (sub.price_id, 3)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["quantity"], body["price"]) == (3, sub.price_id)
    assert body["proration_balance"] == preview_body["proration_balance"]
    assert preview_body["proration_amount"] == sum(line["amount"] for line in preview_body["lines"])


async def test_the_preview_of_another_interval_with_seats_asks_for_their_cap(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(3000))
    weekly = await merchant.price(500, interval=Interval.WEEK)

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change",
        params={"price": weekly, "quantity": 3, "proration_behavior": "none"},
    )

    assert response.status_code == 200, response.text
    preview_body = response.json()
    assert (preview_body["requires_new_permission"], preview_body["new_permission_cap"]) == (
        True,
        1500,
    )
    assert (preview_body["quantity"], preview_body["amount_due_now"]) == (3, 1500)


@pytest.mark.parametrize("quantity", [0, -1, 10_001, "3", None, True, 2.5], ids=repr)
async def test_a_bad_quantity_is_400_and_changes_nothing(
    api: httpx.AsyncClient, merchant: World, quantity: object
) -> None:
    sub = await merchant.subscribe(await merchant.price(1000), cap_cents=5000)
    events_before = await merchant.event_types(sub.subscription_id)

    response = await api.post(
        f"/v1/subscriptions/{sub.subscription_id}", json={"quantity": quantity}
    )

    assert response.status_code == 400, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (
        "parameter_invalid",
        "quantity",
    )
    unchanged = await merchant.subscription(sub.subscription_id)
    assert (unchanged.quantity, unchanged.proration_balance) == (1, 0)
    assert await merchant.event_types(sub.subscription_id) == events_before


@pytest.mark.parametrize("quantity", ["0", "10001", "abc", "1.5"])
async def test_a_bad_preview_quantity_is_400(
    api: httpx.AsyncClient, merchant: World, quantity: str
) -> None:
    sub = await merchant.subscribe(await merchant.price(1000), cap_cents=5000)

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change", params={"quantity": quantity}
    )

    assert response.status_code == 400, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (
        "parameter_invalid",
        "quantity",
    )


async def test_a_preview_without_price_or_quantity_is_400_parameter_missing(
    api: httpx.AsyncClient, merchant: World
) -> None:
    sub = await merchant.subscribe(await merchant.price(1000))

    response = await api.get(
        f"/v1/subscriptions/{sub.subscription_id}/preview_change",
        params={"proration_behavior": "none"},
    )

    assert response.status_code == 400, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (
        "parameter_missing",
        "price",
    )
