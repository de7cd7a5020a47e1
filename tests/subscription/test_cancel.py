"""Cancel now and at period end: nothing is charged after a cancel, whatever was already queued."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.models import Invoice, Payment
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import actions, billing, changes, scheduler
from cyphera.subscription.change_schemas import SubscriptionUpdate
from cyphera.subscription.errors import SubscriptionStateInvalid
from tests.subscription.conftest import START
from tests.subscription.helpers import World

S = SubscriptionStatus
PERIOD_END = START + timedelta(days=31)  # monthly from 2026-03-01 12:00


async def renew(world: World) -> list[str]:
    return await billing.renew_due(world.sessionmaker, clock=world.clock)


async def test_cancel_now_ends_an_active_subscription_and_nothing_more_is_charged(
    world: World,
) -> None:
    # Given an active subscription whose first period was charged
    sub = await world.subscribe(await world.price())
    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE

    # When the merchant cancels it ten days in
    world.at(START + timedelta(days=10))
    await world.act(actions.cancel, subscription_id=sub.subscription_id)

    # Then it is canceled now, for that reason, with one event
    canceled = await world.subscription(sub.subscription_id)
    assert canceled.status is S.CANCELED
    assert canceled.canceled_at == canceled.ended_at == START + timedelta(days=10)
    assert canceled.cancellation_reason == "cancellation_requested"
    event = await world.last_event(sub.subscription_id, "subscription.canceled")
    assert event["previous_attributes"] == {"status": "active"}
    assert event["status"] == "canceled"
    # And the paid invoice stays paid
    [invoice] = await world.invoices(sub.subscription_id)
    assert invoice.status is InvoiceStatus.PAID

    # And when its period end passes, the scheduler neither renews nor charges it
    world.at(PERIOD_END + timedelta(days=1))
    assert await renew(world) == []
    assert len(await world.invoices(sub.subscription_id)) == 1
    assert len(world.gateway.charges) == 1


async def test_cancel_with_a_collection_already_queued_charges_nothing(world: World) -> None:
    # Given the renewal's invoice opened and its collection job queued, not yet run
    sub = await world.subscribe(await world.price())
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await renew(world)
    [payment] = await world.payments(renewal_id)
    assert payment.status is PaymentStatus.PENDING
    assert await world.queued_collections(payment.id) == 1

    # When the merchant cancels now
    await world.act(actions.cancel, subscription_id=sub.subscription_id)

    # Then the invoice waits for its payment's outcome (it could already be with the signer)
    assert (await world.get(Payment, payment.id)).status is PaymentStatus.PENDING
    assert (await world.invoices(sub.subscription_id))[1].status is InvoiceStatus.OPEN

    # And when the queued job runs, it does not charge: it only asks whether the signer ever
    # saw the payment, then fails it and voids the invoice
    status = await world.collect(payment.id)

    assert status is PaymentStatus.FAILED
    assert [order.key for order in world.gateway.charges] == [sub.payment_id]
    assert world.gateway.lookups == [payment.id]
    failed = await world.get(Payment, payment.id)
    assert failed.failure_code == "subscription_canceled"
    renewal = await world.get(Invoice, renewal_id)
    assert renewal.status is InvoiceStatus.VOID
    assert "invoice.voided" in await world.event_types(renewal_id)
    assert "invoice.paid" not in await world.event_types(renewal_id)
    assert (await world.subscription(sub.subscription_id)).status is S.CANCELED


async def test_a_second_run_of_the_same_job_after_cancel_charges_nothing_either(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price())
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await renew(world)
    [payment] = await world.payments(renewal_id)
    await world.act(actions.cancel, subscription_id=sub.subscription_id)
    await world.collect(payment.id)

    # When the job is retried (a re-enqueued or duplicated job)
    status = await world.collect(payment.id)

    assert status is PaymentStatus.FAILED
    assert len(world.gateway.charges) == 1
    assert world.gateway.lookups == [payment.id]


async def wait_for_lock_wait(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Until some backend of this database waits for a row lock (the cancel, behind collect)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with sessionmaker() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the cancel never waited for the collection's lock")


async def test_cancel_waits_for_a_charge_in_flight_and_the_outcome_stands(world: World) -> None:
    # Given a renewal charge that is with the signer right now (the rows are locked)
    sub = await world.subscribe(await world.price())
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await renew(world)
    [payment] = await world.payments(renewal_id)
    world.gateway.hold = asyncio.Event()
    world.gateway.entered.clear()
    collecting = asyncio.create_task(world.collect(payment.id))
    await world.gateway.entered.wait()

    # When the merchant cancels meanwhile
    canceling = asyncio.create_task(world.act(actions.cancel, subscription_id=sub.subscription_id))
    await wait_for_lock_wait(world.sessionmaker)

    # Then the cancel waits on the subscription's lock until the charge's outcome is recorded
    assert not canceling.done()
    world.gateway.hold.set()
    assert await collecting is PaymentStatus.SUCCEEDED
    await canceling

    # And the transfer that happened is booked; the cancel voided nothing it should not have
    [_, renewal] = await world.invoices(sub.subscription_id)
    assert renewal.status is InvoiceStatus.PAID
    assert "invoice.voided" not in await world.event_types(renewal_id)
    canceled = await world.subscription(sub.subscription_id)
    assert canceled.status is S.CANCELED


async def test_cancel_of_a_past_due_subscription_voids_its_invoice_and_stops_dunning(
    world: World,
) -> None:
    # Given a renewal that failed: past_due, with a retry scheduled
    sub = await world.subscribe(await world.price())
    world.at(PERIOD_END + timedelta(seconds=1))
    world.gateway.fail_with("insufficient_balance")
    [renewal_id] = await renew(world)
    await world.collect_pending()
    past_due = await world.subscription(sub.subscription_id)
    assert past_due.status is S.PAST_DUE
    assert past_due.next_payment_attempt_at is not None
    retry_at = past_due.next_payment_attempt_at

    # When it is canceled
    await world.act(actions.cancel, subscription_id=sub.subscription_id)

    # Then the open invoice is voided and no retry is left
    canceled = await world.subscription(sub.subscription_id)
    assert canceled.status is S.CANCELED
    assert canceled.next_payment_attempt_at is None
    renewal = (await world.invoices(sub.subscription_id))[1]
    assert renewal.id == renewal_id
    assert renewal.status is InvoiceStatus.VOID
    assert "invoice.voided" in await world.event_types(renewal_id)

    # And when the retry time comes, nothing is attempted
    world.gateway.succeed()
    world.at(retry_at + timedelta(hours=1))
    assert await scheduler.retry_due(world.sessionmaker, clock=world.clock) == []
    assert len(await world.payments(renewal_id)) == 1
    assert len(world.gateway.charges) == 2


async def test_cancel_of_an_incomplete_subscription_voids_its_first_invoice(world: World) -> None:
    world.gateway.fail_with("insufficient_balance")
    sub = await world.subscribe(await world.price())
    assert (await world.subscription(sub.subscription_id)).status is S.INCOMPLETE

    await world.act(actions.cancel, subscription_id=sub.subscription_id)

    assert (await world.subscription(sub.subscription_id)).status is S.CANCELED
    [invoice] = await world.invoices(sub.subscription_id)
    assert invoice.status is InvoiceStatus.VOID


@pytest.mark.parametrize("terminal", ["canceled", "incomplete_expired"])
async def test_an_ended_subscription_cannot_be_canceled_again(world: World, terminal: str) -> None:
    if terminal == "canceled":
        sub = await world.subscribe(await world.price())
        await world.act(actions.cancel, subscription_id=sub.subscription_id)
    else:
        world.gateway.fail_with("insufficient_balance")
        sub = await world.subscribe(await world.price())
        world.at(START + timedelta(hours=23))
        assert await scheduler.expire_incomplete(world.sessionmaker, clock=world.clock) == [
            sub.subscription_id
        ]
    events_before = await world.event_types(sub.subscription_id)

    with pytest.raises(SubscriptionStateInvalid) as refused:
        await world.act(actions.cancel, subscription_id=sub.subscription_id)

    assert refused.value.code == "subscription_state_invalid"
    assert (await world.subscription(sub.subscription_id)).status.value == terminal
    assert await world.event_types(sub.subscription_id) == events_before


async def test_cancel_at_period_end_keeps_it_until_the_end_then_ends_it_without_a_charge(
    world: World,
) -> None:
    # Given an active subscription
    sub = await world.subscribe(await world.price())

    # When the merchant cancels it at period end, five days in
    world.at(START + timedelta(days=5))
    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)

    # Then it is still active, marked to end, with the request's time as canceled_at
    marked = await world.subscription(sub.subscription_id)
    assert marked.status is S.ACTIVE
    assert marked.cancel_at_period_end is True
    assert marked.canceled_at == START + timedelta(days=5)
    assert marked.ended_at is None
    updated = await world.last_event(sub.subscription_id, "subscription.updated")
    assert updated["previous_attributes"] == {
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"reason": None},
    }

    # And when the period ends and the scheduler runs
    world.at(PERIOD_END + timedelta(seconds=1))
    assert await renew(world) == []

    # Then it ended at the period's end, with no new invoice and no charge
    ended = await world.subscription(sub.subscription_id)
    assert ended.status is S.CANCELED
    assert ended.ended_at == PERIOD_END
    assert ended.canceled_at == START + timedelta(days=5)
    assert len(await world.invoices(sub.subscription_id)) == 1
    assert len(world.gateway.charges) == 1
    assert (await world.event_types(sub.subscription_id))[-1] == "subscription.canceled"


async def test_asking_twice_for_cancel_at_period_end_changes_nothing_the_second_time(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price())
    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)
    events_before = await world.event_types(sub.subscription_id)
    world.at(START + timedelta(days=1))

    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)

    assert (await world.subscription(sub.subscription_id)).canceled_at == START
    assert await world.event_types(sub.subscription_id) == events_before


async def test_undoing_cancel_at_period_end_renews_as_usual(world: World) -> None:
    # Given a subscription set to cancel at period end
    sub = await world.subscribe(await world.price())
    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)

    # When the merchant undoes it before the end
    world.at(START + timedelta(days=20))
    await world.act(
        changes.update,
        subscription_id=sub.subscription_id,
        data=SubscriptionUpdate(cancel_at_period_end=False),
    )

    # Then it is a plain active subscription again
    restored = await world.subscription(sub.subscription_id)
    assert restored.cancel_at_period_end is False
    assert restored.canceled_at is None
    assert restored.cancellation_reason is None
    event = await world.last_event(sub.subscription_id, "subscription.updated")
    assert event["previous_attributes"]["cancel_at_period_end"] is True

    # And the period end renews and charges it
    world.at(PERIOD_END + timedelta(seconds=1))
    assert len(await renew(world)) == 1
    await world.collect_pending()
    assert (await world.invoices(sub.subscription_id))[1].status is InvoiceStatus.PAID
    assert len(world.gateway.charges) == 2
    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE


async def test_cancel_at_period_end_cannot_be_undone_once_it_ended(world: World) -> None:
    sub = await world.subscribe(await world.price())
    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)
    world.at(PERIOD_END + timedelta(seconds=1))
    await renew(world)

    with pytest.raises(SubscriptionStateInvalid) as refused:
        await world.act(
            changes.update,
            subscription_id=sub.subscription_id,
            data=SubscriptionUpdate(cancel_at_period_end=False),
        )

    assert refused.value.param == "cancel_at_period_end"
    ended = await world.subscription(sub.subscription_id)
    assert ended.status is S.CANCELED
    assert ended.cancel_at_period_end is True


async def test_cancel_at_period_end_is_refused_for_a_paused_subscription(world: World) -> None:
    sub = await world.subscribe(await world.price())
    await world.act(actions.pause, subscription_id=sub.subscription_id)

    with pytest.raises(SubscriptionStateInvalid):
        await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)

    assert (await world.subscription(sub.subscription_id)).cancel_at_period_end is False
