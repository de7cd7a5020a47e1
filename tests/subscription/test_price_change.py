"""Price changes: prorations in integer cents floored in the customer's favour, the three proration
behaviours, and refusals when the on-chain permission cannot pay for the new price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cyphera.exceptions import InvalidRequest, NotFound
from cyphera.kit.periods import Interval
from cyphera.models import Invoice, Subscription
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import actions, billing, changes
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.errors import (
    PermissionInsufficient,
    PriceNotUsable,
    ProrationNotChargeable,
    SubscriptionStateInvalid,
)
from cyphera.subscription.proration import ProrationBehavior, apply_balance, prorate
from tests.subscription.conftest import START
from tests.subscription.helpers import FakeGateway, World, make_world

S = SubscriptionStatus
PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
CHANGE_AT = START + timedelta(days=10)  # 21 of 31 days left


# --- the arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "remaining", "period", "expected"),
    [
        (3000, 21, 31, 2032),  # 2032.26 → 2032: a charge rounds down
        (-3000, 21, 31, -2033),  # -2032.26 → -2033: a credit rounds up in size
        (1500, 21, 31, 1016),
        (3000, 31, 31, 3000),
        (3000, 0, 31, 0),
        (3000, 40, 31, 3000),  # clamped to the period
        (1, 1, 3, 0),
        (-1, 1, 3, -1),
    ],
)
def test_prorate_floors_in_the_customers_favour(
    amount: int, remaining: int, period: int, expected: int
) -> None:
    assert prorate(amount, remaining_seconds=remaining, period_seconds=period) == expected


@pytest.mark.parametrize(
    ("amount", "balance", "expected"),
    [
        (1500, 0, (1500, 0)),
        (1500, -1017, (483, 0)),
        (500, -2421, (0, -1921)),
        (500, 700, (1200, 0)),
    ],
)
def test_a_balance_is_applied_and_a_credit_carries_over(
    amount: int, balance: int, expected: tuple[int, int]
) -> None:
    assert apply_balance(amount, balance) == expected


# --- previews and changes ------------------------------------------------------------------------


async def change(
    world: World,
    subscription_id: str,
    price_id: str,
    behavior: str | None = None,
) -> Subscription:
    data = (
        SubscriptionUpdate(price=price_id)
        if behavior is None
        else SubscriptionUpdate(price=price_id, proration_behavior=behavior)  # type: ignore[arg-type]
    )
    result: Subscription = await world.act(
        changes.update, subscription_id=subscription_id, data=data
    )
    return result


async def test_the_preview_shows_the_prorations_and_changes_nothing(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    world.at(CHANGE_AT)
    events_before = await world.event_types(sub.subscription_id)

    preview = await world.act(
        changes.preview_change,
        subscription_id=sub.subscription_id,
        price_id=cheaper,
        behavior=ProrationBehavior.CREATE_PRORATIONS,
    )

    assert [(line.amount, line.price_id) for line in preview.lines] == [
        (-2033, sub.price_id),
        (1016, cheaper),
    ]
    assert all(
        (line.period_start, line.period_end) == (CHANGE_AT, PERIOD_END) for line in preview.lines
    )
    assert preview.proration_amount == -1017
    assert preview.amount_due_now == 0
    assert preview.proration_balance == -1017
    assert (preview.next_period_start, preview.next_amount_due) == (PERIOD_END, 483)
    unchanged = await world.subscription(sub.subscription_id)
    assert (unchanged.price_id, unchanged.proration_balance) == (sub.price_id, 0)
    assert await world.event_types(sub.subscription_id) == events_before


async def test_create_prorations_credits_the_next_invoice(world: World) -> None:
    # Given an active subscription at 30.00 a month
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)

    # When it moves to 15.00 ten days in
    world.at(CHANGE_AT)
    await change(world, sub.subscription_id, cheaper)

    # Then the price changed now, and the net credit waits for the next invoice
    changed = await world.subscription(sub.subscription_id)
    assert (changed.price_id, changed.proration_balance) == (cheaper, -1017)
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["price"] == cheaper
    assert event["previous_attributes"] == {"price": sub.price_id, "proration_balance": 0}
    assert len(world.gateway.charges) == 1

    # And the renewal invoices the new price less the credit
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    renewal = await world.get(Invoice, renewal_id)
    assert renewal.amount_due == 1500 - 1017
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert world.gateway.charges[-1].amount == 483 * 10**4
    assert (await world.subscription(sub.subscription_id)).proration_balance == 0


async def test_a_credit_larger_than_the_next_invoice_carries_over(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheapest = await world.price(500)
    world.at(START + timedelta(days=1))
    await change(world, sub.subscription_id, cheapest)
    assert (await world.subscription(sub.subscription_id)).proration_balance == -2421

    # The next invoice is zero, paid without any charge, and the rest of the credit carries over
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)

    renewal = await world.get(Invoice, renewal_id)
    assert (renewal.amount_due, renewal.status) == (0, InvoiceStatus.PAID)
    assert await world.payments(renewal_id) == []
    assert (await world.subscription(sub.subscription_id)).proration_balance == -1921
    assert len(world.gateway.charges) == 1


async def test_proration_none_applies_the_new_price_from_the_next_period(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    world.at(CHANGE_AT)

    await change(world, sub.subscription_id, cheaper, "none")

    assert (await world.subscription(sub.subscription_id)).proration_balance == 0
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert (await world.get(Invoice, renewal_id)).amount_due == 1500


async def test_always_invoice_puts_a_net_credit_on_the_balance(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    world.at(CHANGE_AT)

    await change(world, sub.subscription_id, cheaper, "always_invoice")

    assert (await world.subscription(sub.subscription_id)).proration_balance == -1017
    assert len(await world.invoices(sub.subscription_id)) == 1


async def downgraded_then_renewed(world: World) -> tuple[str, str, str]:
    """A subscription granted for 30.00 a month, moved to 15.00 (no proration), and renewed at
    15.00 on 2026-04-01: this period's on-chain window has 15.00 of room left."""
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    await change(world, sub.subscription_id, cheaper, "none")
    world.at(PERIOD_END + timedelta(seconds=1))
    await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    return sub.subscription_id, sub.price_id, cheaper


async def test_always_invoice_charges_an_upgrade_now_when_the_window_has_room(
    world: World,
) -> None:
    # Given a subscription back at 15.00 under a permission of 30.00 per window
    subscription_id, expensive, _ = await downgraded_then_renewed(world)

    # When it moves up to 30.00 with always_invoice, 10 of 30 days into the period
    world.at(datetime(2026, 4, 11, 12, 0, tzinfo=UTC))
    await change(world, subscription_id, expensive, "always_invoice")

    # Then the net proration (20 days: -10.00 + 20.00) is invoiced and collected now
    invoices = await world.invoices(subscription_id)
    [proration] = [i for i in invoices if i.period_index is None]
    assert proration.amount_due == 1000
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert (await world.get(Invoice, proration.id)).status is InvoiceStatus.PAID
    assert world.gateway.charges[-1].amount == 1000 * 10**4
    changed = await world.subscription(subscription_id)
    assert (changed.price_id, changed.proration_balance, changed.status) == (expensive, 0, S.ACTIVE)


async def test_always_invoice_is_refused_once_the_periods_window_has_closed(world: World) -> None:
    subscription_id, expensive, cheaper = await downgraded_then_renewed(world)
    # The window of the 2026-04-01 charge closes on 2026-04-26 11:45 (28-day windows)
    world.at(datetime(2026, 4, 27, tzinfo=UTC))

    with pytest.raises(ProrationNotChargeable) as refused:
        await change(world, subscription_id, expensive, "always_invoice")

    assert refused.value.param == "proration_behavior"
    assert (await world.subscription(subscription_id)).price_id == cheaper


async def test_an_upgrade_whose_proration_would_overflow_the_next_window_is_refused(
    world: World,
) -> None:
    subscription_id, expensive, cheaper = await downgraded_then_renewed(world)
    world.at(datetime(2026, 4, 11, 12, 0, 1, tzinfo=UTC))

    with pytest.raises(PermissionInsufficient) as refused:
        await change(world, subscription_id, expensive, "create_prorations")

    assert "always_invoice" in refused.value.message
    assert (await world.subscription(subscription_id)).price_id == cheaper


async def test_a_price_above_the_permission_is_refused_with_permission_insufficient(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(3000))
    dearer = await world.price(3001)
    events_before = await world.event_types(sub.subscription_id)

    with pytest.raises(PermissionInsufficient) as refused:
        await change(world, sub.subscription_id, dearer)

    assert refused.value.code == "permission_insufficient"
    assert refused.value.kind.value == "conflict"
    assert "checkout session" in refused.value.message
    assert (await world.subscription(sub.subscription_id)).price_id == sub.price_id
    assert await world.event_types(sub.subscription_id) == events_before


async def test_a_price_on_another_interval_is_refused_with_permission_insufficient(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(3000))
    weekly = await world.price(500, interval=Interval.WEEK)

    with pytest.raises(PermissionInsufficient):
        await change(world, sub.subscription_id, weekly)

    assert (await world.subscription(sub.subscription_id)).price_id == sub.price_id


async def test_an_archived_price_is_refused(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    archived = await world.price(1000, active=False)

    with pytest.raises(PriceNotUsable) as refused:
        await change(world, sub.subscription_id, archived)

    assert (refused.value.code, refused.value.param) == ("price_not_usable", "price")


async def test_another_workspaces_price_is_not_found(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))
    other = await make_world(world.sessionmaker, world.clock, FakeGateway())
    foreign = await other.price(1000)

    with pytest.raises(NotFound) as refused:
        await change(world, sub.subscription_id, foreign)

    assert (refused.value.code, refused.value.param) == ("resource_missing", "price")


@pytest.mark.parametrize("state", ["past_due", "paused", "canceled"])
async def test_the_price_cannot_change_outside_trialing_and_active(
    world: World, state: str
) -> None:
    sub = await world.subscribe(await world.price(3000))
    cheaper = await world.price(1500)
    if state == "past_due":
        world.gateway.fail_with("insufficient_balance")
        world.at(PERIOD_END + timedelta(seconds=1))
        await billing.renew_due(world.sessionmaker, clock=world.clock)
        await world.collect_pending()
    else:
        await world.act(
            actions.pause if state == "paused" else actions.cancel,
            subscription_id=sub.subscription_id,
        )
    assert (await world.subscription(sub.subscription_id)).status.value == state

    with pytest.raises(SubscriptionStateInvalid):
        await change(world, sub.subscription_id, cheaper)

    assert (await world.subscription(sub.subscription_id)).price_id == sub.price_id


async def test_proration_behavior_without_a_price_is_refused(world: World) -> None:
    sub = await world.subscribe(await world.price(3000))

    with pytest.raises(InvalidRequest) as refused:
        await world.act(
            changes.update,
            subscription_id=sub.subscription_id,
            data=SubscriptionUpdate(proration_behavior="none"),
        )

    assert refused.value.param == "proration_behavior"


async def test_a_change_during_the_trial_has_no_proration_and_bills_the_new_price_at_its_end(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(3000, trial_period_days=14))
    cheaper = await world.price(1500)
    world.at(START + timedelta(days=5))

    await change(world, sub.subscription_id, cheaper)

    changed = await world.subscription(sub.subscription_id)
    assert (changed.price_id, changed.proration_balance, changed.status) == (
        cheaper,
        0,
        S.TRIALING,
    )
    world.at(START + timedelta(days=14, seconds=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert (await world.get(Invoice, invoice_id)).amount_due == 1500
