"""Dunning: past_due, retries +2/+5/+7 days inside the period's on-chain window, then canceled or
unpaid; permanent failures end it at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cyphera.kit.periods import Interval
from cyphera.models import Invoice
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.models.workspace import DunningFinalStatus
from cyphera.subscription import billing, scheduler
from cyphera.subscription.dunning import RETRY_MARGIN, next_attempt_at
from tests.subscription.conftest import START
from tests.subscription.helpers import World

S = SubscriptionStatus
PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00
T0 = datetime(2026, 4, 1, tzinfo=UTC)
FAR = T0 + timedelta(days=60)


@pytest.mark.parametrize(
    ("attempts", "deadline", "expected"),
    [
        (1, FAR, T0 + timedelta(days=2)),
        (2, FAR, T0 + timedelta(days=5)),
        (3, FAR, T0 + timedelta(days=7)),
        (4, FAR, None),  # the schedule is spent
        (0, FAR, None),
        # brought forward to an hour before the window closes
        (1, T0 + timedelta(days=1), T0 + timedelta(days=1) - RETRY_MARGIN),
        # no room left before the window closes
        (1, T0 + RETRY_MARGIN, None),
        (1, T0 + timedelta(minutes=30), None),
    ],
)
def test_next_attempt_follows_the_schedule_inside_the_window(
    attempts: int, deadline: datetime, expected: datetime | None
) -> None:
    assert (
        next_attempt_at(failed_at=T0, attempts=attempts, retry_days=[2, 5, 7], deadline=deadline)
        == expected
    )


async def fail_renewal(world: World, code: str = "insufficient_balance") -> tuple[str, str]:
    """A subscription whose first renewal payment failed; (subscription id, invoice id)."""
    sub = await world.subscribe(await world.price())
    world.gateway.fail_with(code)
    world.at(PERIOD_END + timedelta(seconds=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    assert await world.collect_pending() == [PaymentStatus.FAILED]
    return sub.subscription_id, invoice_id


async def retry(world: World) -> list[str]:
    return await scheduler.retry_due(world.sessionmaker, clock=world.clock)


async def test_a_failed_renewal_is_past_due_then_retried_on_schedule_then_canceled(
    world: World,
) -> None:
    # Given a renewal whose payment failed for lack of balance
    subscription_id, invoice_id = await fail_renewal(world)
    past_due = await world.subscription(subscription_id)
    assert past_due.status is S.PAST_DUE
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {"status": "active"}

    # When each retry comes (+2, +5, +7 days after each failure) and fails again
    failed_at = PERIOD_END + timedelta(seconds=1)
    for delay in (2, 5, 7):
        retry_at = (await world.subscription(subscription_id)).next_payment_attempt_at
        assert retry_at == failed_at + timedelta(days=delay)
        world.at(retry_at - timedelta(seconds=1))
        assert await retry(world) == []
        world.at(retry_at)
        assert len(await retry(world)) == 1
        assert await world.collect_pending() == [PaymentStatus.FAILED]
        failed_at = retry_at

    # Then dunning gave up: the invoice is uncollectible and the subscription canceled
    ended = await world.subscription(subscription_id)
    assert ended.status is S.CANCELED
    assert ended.cancellation_reason == "payment_failed"
    assert ended.next_payment_attempt_at is None
    assert (await world.get(Invoice, invoice_id)).status is InvoiceStatus.UNCOLLECTIBLE
    assert "invoice.marked_uncollectible" in await world.event_types(invoice_id)
    assert [p.status for p in await world.payments(invoice_id)] == [PaymentStatus.FAILED] * 4
    assert len(world.gateway.charges) == 5  # the first period, then four attempts at the renewal

    # And nothing further is ever attempted
    world.at(failed_at + timedelta(days=60))
    assert await retry(world) == []
    assert await billing.renew_due(world.sessionmaker, clock=world.clock) == []
    assert len(world.gateway.charges) == 5


async def test_the_workspace_can_end_dunning_in_unpaid(world: World) -> None:
    await world.set_dunning_final_status(DunningFinalStatus.UNPAID)
    subscription_id, invoice_id = await fail_renewal(world, code="permission_revoked")

    ended = await world.subscription(subscription_id)
    assert ended.status is S.UNPAID
    assert ended.ended_at is None
    assert (await world.get(Invoice, invoice_id)).status is InvoiceStatus.UNCOLLECTIBLE
    # An unpaid subscription is not renewed
    world.at(PERIOD_END + timedelta(days=40))
    assert await billing.renew_due(world.sessionmaker, clock=world.clock) == []


async def test_a_successful_retry_makes_it_active_again(world: World) -> None:
    subscription_id, invoice_id = await fail_renewal(world)
    retry_at = (await world.subscription(subscription_id)).next_payment_attempt_at
    assert retry_at is not None
    world.gateway.succeed()
    world.at(retry_at)

    [payment_id] = await retry(world)
    assert await world.collect(payment_id) is PaymentStatus.SUCCEEDED

    active = await world.subscription(subscription_id)
    assert active.status is S.ACTIVE
    assert active.next_payment_attempt_at is None
    invoice = await world.get(Invoice, invoice_id)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 3000)
    event = await world.last_event(subscription_id, "subscription.updated")
    assert event["previous_attributes"] == {"status": "past_due"}


@pytest.mark.parametrize("code", ["permission_revoked", "permission_expired", "period_cap_reached"])
async def test_a_permanent_failure_ends_dunning_at_once(world: World, code: str) -> None:
    subscription_id, invoice_id = await fail_renewal(world, code=code)

    ended = await world.subscription(subscription_id)
    assert ended.status is S.CANCELED
    assert ended.next_payment_attempt_at is None
    assert (await world.get(Invoice, invoice_id)).status is InvoiceStatus.UNCOLLECTIBLE
    assert len(await world.payments(invoice_id)) == 1


async def test_a_renewal_under_a_revoked_permission_is_not_attempted(world: World) -> None:
    sub = await world.subscribe(await world.price())
    await world.revoke(sub.permission_id)
    world.at(PERIOD_END + timedelta(seconds=1))

    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)

    assert await world.payments(invoice_id) == []
    assert (await world.subscription(sub.subscription_id)).status is S.CANCELED
    assert (await world.get(Invoice, invoice_id)).status is InvoiceStatus.UNCOLLECTIBLE
    assert len(world.gateway.charges) == 1


async def test_retries_stay_inside_the_periods_on_chain_window(world: World) -> None:
    # Given a daily plan: each period's on-chain window closes about a day after it is due
    sub = await world.subscribe(await world.price(300, interval=Interval.DAY))
    world.gateway.fail_with("insufficient_balance")
    due = START + timedelta(days=1)
    world.at(due)
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    await world.collect_pending()

    # Then the +2 days retry is brought forward to an hour before the window closes
    # (permission start = START - 15 min; the window of `due` ends at START + 2 days - 15 min)
    window_end = START + timedelta(days=2) - timedelta(minutes=15)
    retry_at = (await world.subscription(sub.subscription_id)).next_payment_attempt_at
    assert retry_at == window_end - RETRY_MARGIN

    # And when that retry fails too, there is no room left: dunning ends
    world.at(retry_at)
    await retry(world)
    await world.collect_pending()
    ended = await world.subscription(sub.subscription_id)
    assert ended.status is S.CANCELED
    assert (await world.get(Invoice, invoice_id)).status is InvoiceStatus.UNCOLLECTIBLE


async def test_a_collection_after_the_window_closed_is_refused_without_charging(
    world: World,
) -> None:
    # Given a renewal payment whose job only runs after its on-chain window has closed
    sub = await world.subscribe(await world.price(300, interval=Interval.DAY))
    world.at(START + timedelta(days=1))
    [invoice_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    [payment] = await world.payments(invoice_id)
    world.at(START + timedelta(days=2) - timedelta(minutes=15))

    status = await world.collect(payment.id)

    assert status is PaymentStatus.FAILED
    assert len(world.gateway.charges) == 1
    assert (await world.subscription(sub.subscription_id)).status is S.CANCELED


async def test_an_invoice_left_open_by_a_stopped_worker_is_closed_at_the_next_renewal(
    world: World,
) -> None:
    # Given a daily subscription past due whose retry never ran (the worker was down)
    sub = await world.subscribe(await world.price(300, interval=Interval.DAY))
    world.gateway.fail_with("insufficient_balance")
    world.at(START + timedelta(days=1))
    [stale_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)
    await world.collect_pending()
    assert (await world.subscription(sub.subscription_id)).status is S.PAST_DUE

    # When the next period is due and renewed
    world.gateway.succeed()
    world.at(START + timedelta(days=2))
    [next_id] = await billing.renew_due(world.sessionmaker, clock=world.clock)

    # Then the stale invoice is uncollectible and the new one is charged
    assert (await world.get(Invoice, stale_id)).status is InvoiceStatus.UNCOLLECTIBLE
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert (await world.get(Invoice, next_id)).status is InvoiceStatus.PAID
    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE
