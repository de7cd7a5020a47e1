"""Pause and resume: nothing renews or charges while paused; resume continues or re-anchors."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import to_unix
from cyphera.kit.periods import onchain_window_index
from cyphera.models import Payment, Permission
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import actions, billing, scheduler
from cyphera.subscription.errors import PermissionUnusable, SubscriptionStateInvalid
from tests.subscription.conftest import START
from tests.subscription.helpers import World

S = SubscriptionStatus
PERIOD_END = START + timedelta(days=31)  # 2026-04-01 12:00


async def renew(world: World) -> list[str]:
    return await billing.renew_due(world.sessionmaker, clock=world.clock)


async def test_a_paused_subscription_is_neither_renewed_nor_charged(world: World) -> None:
    # Given an active subscription
    sub = await world.subscribe(await world.price())

    # When the merchant pauses it
    world.at(START + timedelta(days=3))
    await world.act(actions.pause, subscription_id=sub.subscription_id)

    # Then it is paused, with an event
    paused = await world.subscription(sub.subscription_id)
    assert paused.status is S.PAUSED
    assert paused.paused_at == START + timedelta(days=3)
    event = await world.last_event(sub.subscription_id, "subscription.paused")
    assert event["previous_attributes"] == {"status": "active"}
    assert event["pause_collection"] == {"behavior": "void", "resumes_at": None}

    # And months later the scheduler has opened nothing and charged nothing
    world.at(START + timedelta(days=100))
    assert await renew(world) == []
    assert len(await world.invoices(sub.subscription_id)) == 1
    assert len(world.gateway.charges) == 1


async def test_pause_refuses_a_resume_time_in_the_past(world: World) -> None:
    sub = await world.subscribe(await world.price())
    events_before = await world.event_types(sub.subscription_id)

    with pytest.raises(InvalidRequest) as refused:
        await world.act(
            actions.pause, subscription_id=sub.subscription_id, resumes_at=to_unix(START)
        )

    assert (refused.value.code, refused.value.param) == ("parameter_invalid", "resumes_at")
    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE
    assert await world.event_types(sub.subscription_id) == events_before


async def test_pause_is_refused_while_cancel_at_period_end_is_set(world: World) -> None:
    sub = await world.subscribe(await world.price())
    await world.act(actions.cancel, subscription_id=sub.subscription_id, at_period_end=True)

    with pytest.raises(SubscriptionStateInvalid) as refused:
        await world.act(actions.pause, subscription_id=sub.subscription_id)

    assert refused.value.param == "cancel_at_period_end"
    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE


@pytest.mark.parametrize("state", ["trialing", "incomplete", "canceled", "paused"])
async def test_pause_is_refused_outside_active_and_past_due(world: World, state: str) -> None:
    if state == "trialing":
        sub = await world.subscribe(await world.price(trial_period_days=14))
    elif state == "incomplete":
        world.gateway.fail_with("insufficient_balance")
        sub = await world.subscribe(await world.price())
    else:
        sub = await world.subscribe(await world.price())
        action = actions.cancel if state == "canceled" else actions.pause
        await world.act(action, subscription_id=sub.subscription_id)
    events_before = await world.event_types(sub.subscription_id)

    with pytest.raises(SubscriptionStateInvalid) as refused:
        await world.act(actions.pause, subscription_id=sub.subscription_id)

    assert refused.value.code == "subscription_state_invalid"
    assert (await world.subscription(sub.subscription_id)).status.value == state
    assert await world.event_types(sub.subscription_id) == events_before


async def test_pausing_a_past_due_subscription_voids_its_invoice_and_stops_dunning(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price())
    world.at(PERIOD_END + timedelta(seconds=1))
    world.gateway.fail_with("insufficient_balance")
    [renewal_id] = await renew(world)
    await world.collect_pending()
    retry_at = (await world.subscription(sub.subscription_id)).next_payment_attempt_at
    assert retry_at is not None

    await world.act(actions.pause, subscription_id=sub.subscription_id)

    paused = await world.subscription(sub.subscription_id)
    assert paused.status is S.PAUSED
    assert paused.next_payment_attempt_at is None
    assert (await world.invoices(sub.subscription_id))[1].status is InvoiceStatus.VOID
    world.at(retry_at + timedelta(hours=1))
    assert await scheduler.retry_due(world.sessionmaker, clock=world.clock) == []
    assert len(await world.payments(renewal_id)) == 1


async def test_a_charge_in_flight_at_pause_time_is_not_made_after_it(world: World) -> None:
    # Given a renewal whose collection is queued when the subscription is paused
    sub = await world.subscribe(await world.price())
    world.at(PERIOD_END + timedelta(seconds=1))
    [renewal_id] = await renew(world)
    [payment] = await world.payments(renewal_id)
    await world.act(actions.pause, subscription_id=sub.subscription_id)

    # When the job runs
    status = await world.collect(payment.id)

    # Then nothing is charged and the invoice is voided
    assert status is PaymentStatus.FAILED
    assert (await world.get(Payment, payment.id)).failure_code == "subscription_paused"
    assert len(world.gateway.charges) == 1
    assert (await world.invoices(sub.subscription_id))[1].status is InvoiceStatus.VOID


async def test_resume_before_the_paid_period_ends_continues_the_schedule(world: World) -> None:
    # Given a subscription paused and resumed within its paid period
    sub = await world.subscribe(await world.price())
    world.at(START + timedelta(days=3))
    await world.act(actions.pause, subscription_id=sub.subscription_id)
    world.at(START + timedelta(days=10))

    await world.act(actions.resume, subscription_id=sub.subscription_id)

    # Then it is active on the same schedule, and nothing was invoiced
    resumed = await world.subscription(sub.subscription_id)
    assert resumed.status is S.ACTIVE
    assert resumed.paused_at is None
    assert (resumed.current_period_start, resumed.current_period_end) == (START, PERIOD_END)
    assert resumed.billing_anchor == START
    assert len(await world.invoices(sub.subscription_id)) == 1
    event = await world.last_event(sub.subscription_id, "subscription.resumed")
    assert event["previous_attributes"] == {
        "status": "paused",
        "pause_collection": {"behavior": "void", "resumes_at": None},
    }
    # And the period end renews it as before
    world.at(PERIOD_END + timedelta(seconds=1))
    assert len(await renew(world)) == 1


async def test_resume_after_the_period_re_anchors_and_charges_a_new_period_in_a_fresh_window(
    world: World,
) -> None:
    # Given a subscription paused through its period's end
    sub = await world.subscribe(await world.price())
    world.at(START + timedelta(days=3))
    await world.act(actions.pause, subscription_id=sub.subscription_id)
    resumed_at = START + timedelta(days=47, hours=5, minutes=7)
    world.at(resumed_at)

    # When it is resumed
    await world.act(actions.resume, subscription_id=sub.subscription_id)

    # Then the schedule is anchored at the resume and its first period is invoiced in full
    resumed = await world.subscription(sub.subscription_id)
    assert resumed.status is S.ACTIVE
    assert resumed.billing_anchor == resumed_at
    assert resumed.period_index == 1
    assert resumed.current_period_start == resumed_at
    assert resumed.current_period_end == resumed_at.replace(month=5)
    [_, invoice] = await world.invoices(sub.subscription_id)
    assert (invoice.period_index, invoice.amount_due) == (1, 3000)

    # And its collection charges it, in an on-chain window after the one the last charge used
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]
    assert len(world.gateway.charges) == 2
    permission = await world.get(Permission, sub.permission_id)

    def window(at: datetime) -> int:
        return onchain_window_index(permission.start_at, permission.period_seconds, at)

    assert window(resumed_at) > window(START)

    # And the next renewal follows the new anchor, in yet another window
    world.at(resumed.current_period_end + timedelta(seconds=1))
    [next_id] = await renew(world)
    [_, _, next_invoice] = await world.invoices(sub.subscription_id)
    assert next_invoice.id == next_id
    assert next_invoice.period_start == resumed_at.replace(month=5)
    assert window(next_invoice.period_start) > window(resumed_at)
    assert await world.collect_pending() == [PaymentStatus.SUCCEEDED]


async def test_resume_is_refused_unless_paused(world: World) -> None:
    sub = await world.subscribe(await world.price())

    with pytest.raises(SubscriptionStateInvalid):
        await world.act(actions.resume, subscription_id=sub.subscription_id)

    assert (await world.subscription(sub.subscription_id)).status is S.ACTIVE


async def test_resume_is_refused_when_the_permission_was_revoked(world: World) -> None:
    sub = await world.subscribe(await world.price())
    await world.act(actions.pause, subscription_id=sub.subscription_id)
    await world.revoke(sub.permission_id)
    world.at(PERIOD_END + timedelta(days=2))

    with pytest.raises(PermissionUnusable) as refused:
        await world.act(actions.resume, subscription_id=sub.subscription_id)

    assert refused.value.code == "permission_unusable"
    assert (await world.subscription(sub.subscription_id)).status is S.PAUSED
    assert len(await world.invoices(sub.subscription_id)) == 1


async def test_a_pause_with_a_resume_date_resumes_by_itself(world: World) -> None:
    # Given a pause until a date after the period's end
    sub = await world.subscribe(await world.price())
    resumes_at = START + timedelta(days=45)
    await world.act(
        actions.pause, subscription_id=sub.subscription_id, resumes_at=to_unix(resumes_at)
    )
    assert (await world.subscription(sub.subscription_id)).resumes_at == resumes_at

    # When the scheduler runs just before, then at the date
    world.at(resumes_at - timedelta(seconds=1))
    assert await scheduler.resume_due(world.sessionmaker, clock=world.clock) == []
    world.at(resumes_at + timedelta(seconds=20))
    resumed_ids = await scheduler.resume_due(world.sessionmaker, clock=world.clock)

    # Then it resumed then (re-anchored), once
    assert resumed_ids == [sub.subscription_id]
    resumed = await world.subscription(sub.subscription_id)
    assert resumed.status is S.ACTIVE
    assert resumed.billing_anchor == resumes_at + timedelta(seconds=20)
    assert resumed.resumes_at is None
    assert len(await world.invoices(sub.subscription_id)) == 2
    assert await scheduler.resume_due(world.sessionmaker, clock=world.clock) == []


async def test_an_automatic_resume_with_a_revoked_permission_leaves_it_paused(
    world: World,
) -> None:
    sub = await world.subscribe(await world.price())
    resumes_at = START + timedelta(days=45)
    await world.act(
        actions.pause, subscription_id=sub.subscription_id, resumes_at=to_unix(resumes_at)
    )
    await world.revoke(sub.permission_id)
    world.at(resumes_at)

    assert await scheduler.resume_due(world.sessionmaker, clock=world.clock) == []

    still = await world.subscription(sub.subscription_id)
    assert still.status is S.PAUSED
    assert still.resumes_at is None
    assert len(await world.invoices(sub.subscription_id)) == 1
