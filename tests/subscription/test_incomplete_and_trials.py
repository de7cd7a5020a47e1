"""The first payment: incomplete until paid, expired after 23 hours; trials that charge at their end."""

from __future__ import annotations

from datetime import timedelta

from cyphera.kit.clock import to_unix
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import actions, billing, scheduler
from tests.subscription.conftest import START
from tests.subscription.helpers import World

S = SubscriptionStatus
TRIAL_END = START + timedelta(days=14)


async def expire(world: World) -> list[str]:
    return await scheduler.expire_incomplete(world.sessionmaker, clock=world.clock)


async def notify(world: World) -> list[str]:
    return await scheduler.notify_trials_ending(world.sessionmaker, clock=world.clock)


async def test_a_paid_first_invoice_makes_the_subscription_active(world: World) -> None:
    sub = await world.subscribe(await world.price())

    subscription = await world.subscription(sub.subscription_id)
    assert subscription.status is S.ACTIVE
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {"status": "incomplete"}
    [invoice] = await world.invoices(sub.subscription_id)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 3000)


async def test_a_failed_first_payment_leaves_it_incomplete_without_dunning(world: World) -> None:
    world.gateway.fail_with("insufficient_balance")

    sub = await world.subscribe(await world.price())

    subscription = await world.subscription(sub.subscription_id)
    assert subscription.status is S.INCOMPLETE
    assert subscription.next_payment_attempt_at is None
    [invoice] = await world.invoices(sub.subscription_id)
    assert invoice.status is InvoiceStatus.OPEN
    assert "invoice.payment_failed" in await world.event_types(invoice.id)
    assert await world.event_types(sub.subscription_id) == ["subscription.created"]


async def test_an_incomplete_subscription_expires_23_hours_after_it_started(world: World) -> None:
    # Given a subscription whose first payment failed
    world.gateway.fail_with("insufficient_balance")
    sub = await world.subscribe(await world.price())

    # When the scheduler runs a second before 23 hours, then at 23 hours
    world.at(START + timedelta(hours=23) - timedelta(seconds=1))
    assert await expire(world) == []
    assert (await world.subscription(sub.subscription_id)).status is S.INCOMPLETE
    world.at(START + timedelta(hours=23))
    expired_ids = await expire(world)

    # Then it expired, once, its invoice voided
    assert expired_ids == [sub.subscription_id]
    expired = await world.subscription(sub.subscription_id)
    assert expired.status is S.INCOMPLETE_EXPIRED
    assert expired.ended_at == START + timedelta(hours=23)
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {"status": "incomplete"}
    [invoice] = await world.invoices(sub.subscription_id)
    assert invoice.status is InvoiceStatus.VOID
    assert "invoice.voided" in await world.event_types(invoice.id)
    assert await expire(world) == []


async def test_an_incomplete_subscription_with_its_payment_in_flight_does_not_expire(
    world: World,
) -> None:
    # Given a first payment still with the signer (the job has not resolved it yet)
    sub = await world.subscribe(await world.price(), collect=False)

    # When 23 hours pass
    world.at(START + timedelta(hours=24))
    assert await expire(world) == []

    # Then it is still incomplete, and the payment's outcome decides
    assert (await world.subscription(sub.subscription_id)).status is S.INCOMPLETE
    assert sub.payment_id is not None
    assert await world.collect(sub.payment_id) is PaymentStatus.SUCCEEDED
    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE


async def test_an_expired_subscription_is_never_charged(world: World) -> None:
    world.gateway.fail_with("insufficient_balance")
    sub = await world.subscribe(await world.price())
    world.at(START + timedelta(hours=23))
    await expire(world)
    world.gateway.succeed()

    world.at(START + timedelta(days=40))
    assert await billing.renew_due(world.sessionmaker, clock=world.clock) == []
    assert await scheduler.retry_due(world.sessionmaker, clock=world.clock) == []

    assert len(world.gateway.charges) == 1
    assert len(await world.invoices(sub.subscription_id)) == 1


# --- trials --------------------------------------------------------------------------------------


async def test_a_trial_starts_trialing_with_nothing_invoiced_or_charged(world: World) -> None:
    sub = await world.subscribe(await world.price(trial_period_days=14))

    trialing = await world.subscription(sub.subscription_id)
    assert trialing.status is S.TRIALING
    assert (trialing.trial_start, trialing.trial_end) == (START, TRIAL_END)
    assert (trialing.current_period_start, trialing.current_period_end) == (START, TRIAL_END)
    assert trialing.billing_anchor == TRIAL_END
    assert sub.payment_id is None
    assert await world.invoices(sub.subscription_id) == []
    assert world.gateway.charges == []
    created = await world.last_event(sub.subscription_id, "subscription.created")
    assert (created["status"], created["trial_end"]) == ("trialing", to_unix(TRIAL_END))


async def test_trial_will_end_is_recorded_once_three_days_before(world: World) -> None:
    sub = await world.subscribe(await world.price(trial_period_days=14))

    world.at(TRIAL_END - timedelta(days=3, seconds=1))
    assert await notify(world) == []
    world.at(TRIAL_END - timedelta(days=3))
    assert await notify(world) == [sub.subscription_id]
    world.at(TRIAL_END - timedelta(days=1))
    assert await notify(world) == []

    kinds = await world.event_types(sub.subscription_id)
    assert kinds.count("subscription.trial_will_end") == 1
    event = await world.last_event(sub.subscription_id, "subscription.trial_will_end")
    assert event["trial_end"] == to_unix(TRIAL_END)


async def test_a_trial_shorter_than_three_days_is_notified_at_once(world: World) -> None:
    sub = await world.subscribe(await world.price(trial_period_days=2))

    assert await notify(world) == [sub.subscription_id]


async def test_the_trial_end_charges_the_first_period(world: World) -> None:
    # Given a trialing subscription
    sub = await world.subscribe(await world.price(trial_period_days=14))

    # When the trial ends and the scheduler runs
    world.at(TRIAL_END + timedelta(seconds=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]

    # Then the first paid period starts at the trial's end and is paid in full
    [invoice] = await world.invoices(sub.subscription_id)
    assert invoice.id == invoice_id
    assert (invoice.period_index, invoice.amount_due, invoice.status) == (
        1,
        3000,
        InvoiceStatus.PAID,
    )
    assert (invoice.period_start, invoice.period_end) == (TRIAL_END, TRIAL_END.replace(month=4))
    active = await world.subscription(sub.subscription_id)
    assert active.status is S.ACTIVE
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {"status": "trialing"}
    assert len(world.gateway.charges) == 1


async def test_a_failed_trial_end_payment_makes_it_past_due_with_a_retry(world: World) -> None:
    sub = await world.subscribe(await world.price(trial_period_days=14))
    world.gateway.fail_with("insufficient_balance")
    world.at(TRIAL_END + timedelta(seconds=1))

    await billing.renew_due(world.sessionmaker, clock=world.clock)
    await world.collect_pending()

    past_due = await world.subscription(sub.subscription_id)
    assert past_due.status is S.PAST_DUE
    assert past_due.next_payment_attempt_at == TRIAL_END + timedelta(days=2, seconds=1)


async def test_a_trial_canceled_at_period_end_ends_with_the_trial_and_is_never_charged(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price(trial_period_days=14))
    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)

    world.at(TRIAL_END + timedelta(seconds=1))
    assert await billing.renew_due(world.sessionmaker, clock=world.clock) == []

    ended = await world.subscription(sub.subscription_id)
    assert ended.status is S.CANCELED
    assert ended.ended_at == TRIAL_END
    assert await world.invoices(sub.subscription_id) == []
    assert world.gateway.charges == []


async def test_a_trial_whose_permission_was_revoked_ends_at_the_trial_end(world: World) -> None:
    sub = await world.subscribe(await world.price(trial_period_days=14))
    await world.revoke(sub.permission_id)

    world.at(TRIAL_END + timedelta(seconds=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)

    ended = await world.subscription(sub.subscription_id)
    assert ended.status is S.CANCELED
    assert ended.cancellation_reason == "payment_failed"
    # past_due, then canceled, in one transaction (one created_at: compared as a set)
    assert sorted(await world.event_types(sub.subscription_id)) == [
        "subscription.canceled",
        "subscription.created",
        "subscription.updated",
    ]
    updated = await world.last_event(sub.subscription_id, "subscription.updated")
    assert updated["previous_attributes"] == {"status": "trialing"}
    canceled = await world.last_event(sub.subscription_id, "subscription.canceled")
    assert canceled["previous_attributes"] == {"status": "past_due"}
    [invoice] = await world.invoices(sub.subscription_id)
    assert (invoice.id, invoice.status) == (invoice_id, InvoiceStatus.UNCOLLECTIBLE)
    assert world.gateway.charges == []
