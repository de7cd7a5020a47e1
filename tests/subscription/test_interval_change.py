"""A change to a price on another interval: the on-chain window length is fixed, so it always
waits for a NEW permission (a ``pending_update`` whose windows start afresh), and completing it
follows Stripe: a trialing subscription keeps its trial and bills the first paid period on the
new interval at the trial's end; an active one is credited the unused time of the old price,
re-anchored at the completion and invoiced the new first period at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from cyphera.chain.networks import NetworkRegistry, load_registry
from cyphera.db.engine import transaction
from cyphera.kit.hosted import DEV_HOSTED_SECRET
from cyphera.kit.periods import START_SKEW, Interval
from cyphera.models import CheckoutSession, Invoice, Payment, Permission
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.service import is_usable
from cyphera.subscription import billing, changes
from cyphera.subscription.change_plan import PriceChange
from cyphera.subscription.change_schemas import ProrationBehaviorName, SubscriptionUpdate
from cyphera.subscription.errors import PermissionInsufficient
from cyphera.subscription.pending import PermissionRequester
from cyphera.subscription.proration import ProrationBehavior
from tests.coupon.helpers import apply, lines, make_coupon
from tests.subscription.helpers import (
    World,
    sign_and_complete,
    subscribe_through_checkout,
)

NETWORK = "base-sepolia"
MONTHLY = 3000
UNITS = 10**4  # token units per cent (6 decimals)
WEEK = timedelta(days=7)
MONTH = timedelta(days=31)  # the first period: 1 March to 1 April


@pytest.fixture
def registry() -> NetworkRegistry:
    return load_registry(None, {})


@pytest.fixture
def requester(world: World, registry: NetworkRegistry) -> PermissionRequester:
    return PermissionRequester(
        registry=registry,
        gateway=world.gateway,
        permission_lifetime=timedelta(days=3 * 365),
        base_url="https://api.example.test",
        hosted_secret=DEV_HOSTED_SECRET.encode(),
    )


async def subscribed(
    world: World, registry: NetworkRegistry, *, trial_period_days: int | None = None
) -> tuple[str, LocalAccount]:
    """A subscription to 30.00 a month through a real checkout; its first period paid, or
    trialing."""
    price_id = await world.price(MONTHLY, trial_period_days=trial_period_days)
    return await subscribe_through_checkout(world, registry, price_id, network=NETWORK)


async def request_change(
    world: World,
    requester: PermissionRequester | None,
    subscription_id: str,
    price_id: str,
    behavior: ProrationBehaviorName = "create_prorations",
) -> str:
    """Ask for the change; returns the pending update's checkout session."""
    async with transaction(world.sessionmaker) as session:
        await changes.update(
            session,
            scope=world.scope,
            subscription_id=subscription_id,
            data=SubscriptionUpdate(price=price_id, proration_behavior=behavior),
            clock=world.clock,
            requester=requester,
        )
    pending = (await world.subscription(subscription_id)).pending_checkout_session_id
    assert pending is not None
    return pending


async def preview(
    world: World, subscription_id: str, price_id: str, behavior: ProrationBehavior
) -> PriceChange:
    async with world.sessionmaker() as session:
        return await changes.preview_change(
            session,
            scope=world.scope,
            subscription_id=subscription_id,
            price_id=price_id,
            behavior=behavior,
            clock=world.clock,
        )


async def renew(world: World) -> Invoice:
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    return await world.get(Invoice, invoice_id)


def credit(left: timedelta, amount: int = MONTHLY) -> int:
    """The credit for `left` of a 31-day period of `amount`, floored (rounded up in size)."""
    return (-amount * int(left.total_seconds())) // int(MONTH.total_seconds())


async def test_a_trialing_subscription_keeps_its_trial_and_bills_the_new_interval_at_its_end(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry, trial_period_days=14)
    before = await world.subscription(subscription_id)
    assert before.status is SubscriptionStatus.TRIALING
    assert before.trial_end is not None
    weekly = await world.price(800, interval=Interval.WEEK)
    world.clock.advance(timedelta(days=3))
    asked_at = world.clock.now()

    pending_id = await request_change(world, requester, subscription_id, weekly)

    # A new permission for the new price, its windows a week long and starting afresh.
    session = await world.get(CheckoutSession, pending_id)
    old = await world.get(Permission, before.permission_id or "")
    assert (session.price_id, session.amount_cents) == (weekly, 800)
    assert session.period_amount == 800 * UNITS
    assert session.period_seconds == int(WEEK.total_seconds()) != old.period_seconds
    assert session.start_at == asked_at - START_SKEW != old.start_at
    world.clock.advance(timedelta(hours=1))
    invoices = await world.count(Invoice)

    completed = await sign_and_complete(world, registry, pending_id, customer)

    assert completed.payment is None
    after = await world.subscription(subscription_id)
    assert (after.status, after.price_id) == (SubscriptionStatus.TRIALING, weekly)
    assert after.permission_id not in (None, before.permission_id)
    assert (after.trial_end, after.current_period_end) == (before.trial_end, before.trial_end)
    assert (after.billing_anchor, after.anchor_index, after.period_index) == (
        before.trial_end,
        1,
        0,
    )
    assert await world.count(Invoice) == invoices
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["previous_attributes"]["price"] == before.price_id
    assert event["previous_attributes"]["permission"] == before.permission_id
    assert "current_period_end" not in event["previous_attributes"]

    # The trial's end bills the first paid week, under the new permission.
    world.at(before.trial_end)
    invoice = await renew(world)

    assert (invoice.period_start, invoice.period_end) == (
        before.trial_end,
        before.trial_end + WEEK,
    )
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 800)
    new = await world.get(Permission, after.permission_id or "")
    assert world.gateway.charges[-1].permission_context == new.context
    assert (await world.subscription(subscription_id)).status is SubscriptionStatus.ACTIVE


async def test_an_active_change_credits_the_unused_time_re_anchors_and_invoices_at_once(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    before = await world.subscription(subscription_id)
    weekly = await world.price(2500, interval=Interval.WEEK)
    world.clock.advance(timedelta(days=10))
    pending_id = await request_change(world, requester, subscription_id, weekly)
    world.clock.advance(timedelta(hours=1))
    now = world.clock.now()
    charges = len(world.gateway.charges)

    completed = await sign_and_complete(world, registry, pending_id, customer)

    # 20 d 23 h of 31 d left of 30.00: credited, floored in the customer's favour.
    unused = credit(before.current_period_end - now)
    assert unused == -2029
    after = await world.subscription(subscription_id)
    assert (after.status, after.price_id) == (SubscriptionStatus.ACTIVE, weekly)
    assert (after.billing_anchor, after.anchor_index, after.period_index) == (now, 1, 1)
    assert (after.current_period_start, after.current_period_end) == (now, now + WEEK)
    assert after.proration_balance == 0
    new = await world.get(Permission, after.permission_id or "")
    old = await world.get(Permission, before.permission_id or "")
    assert (new.period_amount, new.period_seconds) == (2500 * UNITS, int(WEEK.total_seconds()))
    assert old.replaced_by_id == new.id
    assert not is_usable(old, at=now)
    # One invoice for the new first week, at once, the credit taken off.
    assert completed.payment is not None
    assert completed.payment.permission_id == new.id
    assert completed.payment.amount_cents == 2500 + unused == 471
    invoice = await world.get(Invoice, completed.payment.invoice_id)
    assert (invoice.period_index, invoice.period_start, invoice.period_end) == (1, now, now + WEEK)
    assert await lines(world, invoice.id) == [("subscription", 2500), ("proration", unused)]
    assert await world.collect(completed.payment.id) is PaymentStatus.SUCCEEDED
    assert len(world.gateway.charges) == charges + 1
    assert world.gateway.charges[-1].permission_context == new.context
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["current_period_start"] == int(now.timestamp())
    assert event["proration_balance"] == 0
    assert event["previous_attributes"] == {
        "permission": old.id,
        "pending_update": event["previous_attributes"]["pending_update"],
        "price": before.price_id,
        "billing_cycle_anchor": int(before.billing_anchor.timestamp()),
        "current_period_start": int(before.current_period_start.timestamp()),
        "current_period_end": int(before.current_period_end.timestamp()),
    }
    assert event["previous_attributes"]["pending_update"]["price"] == weekly

    # A week later the renewal charges the new price under the new permission, never the old.
    world.at(now + WEEK)
    renewal = await renew(world)

    assert (renewal.period_start, renewal.period_end) == (now + WEEK, now + 2 * WEEK)
    assert renewal.amount_paid == 2500
    changed = world.gateway.charges[charges:]
    assert [c.permission_context for c in changed] == [new.context, new.context]
    async with world.sessionmaker() as session:
        under_old = (
            await session.scalars(select(Payment.id).where(Payment.permission_id == old.id))
        ).all()
    assert len(under_old) == 1  # the first period, before the change


async def test_with_none_there_is_no_credit(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    weekly = await world.price(2500, interval=Interval.WEEK)
    world.clock.advance(timedelta(days=10))
    pending_id = await request_change(world, requester, subscription_id, weekly, "none")

    completed = await sign_and_complete(world, registry, pending_id, customer)

    assert completed.payment is not None
    assert completed.payment.amount_cents == 2500
    assert await lines(world, completed.payment.invoice_id) == [("subscription", 2500)]
    after = await world.subscription(subscription_id)
    assert (after.current_period_start, after.proration_balance) == (world.clock.now(), 0)


async def test_a_credit_larger_than_the_new_invoice_carries_over(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    weekly = await world.price(700, interval=Interval.WEEK)
    world.clock.advance(timedelta(days=10))
    now = world.clock.now()
    pending_id = await request_change(world, requester, subscription_id, weekly, "always_invoice")
    payments = await world.count(Payment)

    completed = await sign_and_complete(world, registry, pending_id, customer)

    unused = credit(timedelta(days=21))
    assert unused == -2033
    assert completed.payment is None  # nothing to charge: paid by the credit
    after = await world.subscription(subscription_id)
    assert after.proration_balance == 700 + unused == -1333
    [invoice] = [i for i in await world.invoices(subscription_id) if i.period_start == now]
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PAID, 0)
    assert await lines(world, invoice.id) == [("subscription", 700), ("proration", -700)]
    assert await world.count(Payment) == payments

    # The rest is taken off the next weeks: 700 off the second, 633 off the third.
    world.at(now + WEEK)
    [second] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert (await world.get(Invoice, second)).status is InvoiceStatus.PAID
    world.at(now + 2 * WEEK)
    third = await renew(world)
    assert third.amount_paid == 700 - 633
    assert (await world.subscription(subscription_id)).proration_balance == 0


async def test_the_preview_tells_what_the_change_then_does(
    world: World, registry: NetworkRegistry, requester: PermissionRequester
) -> None:
    subscription_id, customer = await subscribed(world, registry)
    yearly = await world.price(30_000, interval=Interval.YEAR)
    await apply(world, subscription_id, await make_coupon(world, percent_off=10, duration="once"))
    world.clock.advance(timedelta(days=10))
    now = world.clock.now()

    shown = await preview(world, subscription_id, yearly, ProrationBehavior.CREATE_PRORATIONS)
    pending_id = await request_change(world, requester, subscription_id, yearly)
    completed = await sign_and_complete(world, registry, pending_id, customer)

    unused = credit(timedelta(days=21))
    assert (shown.requires_new_permission, shown.new_permission_cap) == (True, 30_000)
    assert shown.resets_billing_anchor is True
    assert [(line.amount, line.period_start) for line in shown.lines] == [(unused, now)]
    # 30000 - 2033 = 27967, 10% off once (2796, rounded down): 25171 now; the year after, whole.
    assert shown.amount_due_now == 25_171
    assert (shown.next_period_start, shown.next_period_end) == (
        datetime(2027, 3, 11, 12, tzinfo=now.tzinfo),
        datetime(2028, 3, 11, 12, tzinfo=now.tzinfo),
    )
    assert (shown.next_amount_due, shown.proration_balance) == (30_000, 0)
    assert completed.payment is not None
    assert completed.payment.amount_cents == shown.amount_due_now
    assert await lines(world, completed.payment.invoice_id) == [
        ("subscription", 30_000),
        ("proration", unused),
        ("discount", -2796),
    ]
    after = await world.subscription(subscription_id)
    assert after.current_period_end == shown.next_period_start
    assert after.proration_balance == shown.proration_balance
    await world.collect(completed.payment.id)
    world.at(shown.next_period_start)
    renewal = await renew(world)
    assert (renewal.period_end, renewal.amount_paid) == (
        shown.next_period_end,
        shown.next_amount_due,
    )


async def test_the_preview_of_a_trialing_change_bills_nothing_now(
    world: World, registry: NetworkRegistry
) -> None:
    subscription_id, _ = await subscribed(world, registry, trial_period_days=14)
    trial_end = (await world.subscription(subscription_id)).trial_end
    assert trial_end is not None
    weekly = await world.price(800, interval=Interval.WEEK)

    shown = await preview(world, subscription_id, weekly, ProrationBehavior.ALWAYS_INVOICE)

    assert (shown.requires_new_permission, shown.resets_billing_anchor) == (True, True)
    assert (shown.lines, shown.amount_due_now, shown.new_permission_cap) == ([], 0, 800)
    assert (shown.next_period_start, shown.next_period_end) == (trial_end, trial_end + WEEK)
    assert shown.next_amount_due == 800


async def test_without_a_requester_another_interval_is_still_refused(
    world: World, registry: NetworkRegistry
) -> None:
    subscription_id, _ = await subscribed(world, registry)
    weekly = await world.price(800, interval=Interval.WEEK)
    sessions = await world.count(CheckoutSession)

    with pytest.raises(PermissionInsufficient) as refused:
        await request_change(world, None, subscription_id, weekly)

    assert (refused.value.code, refused.value.param) == ("permission_insufficient", "price")
    after = await world.subscription(subscription_id)
    assert (after.pending_price_id, after.price_id != weekly) == (None, True)
    assert await world.count(CheckoutSession) == sessions
