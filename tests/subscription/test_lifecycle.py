"""The transition table: every allowed transition works and records its event; every other is refused
with ``subscription_state_invalid`` and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.models import Event, Subscription
from cyphera.models.mixins import Mode
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import lifecycle
from cyphera.subscription.errors import SubscriptionStateInvalid

S = SubscriptionStatus
AT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
EXPECTED = {
    S.INCOMPLETE: {S.ACTIVE, S.INCOMPLETE_EXPIRED, S.CANCELED},
    S.TRIALING: {S.ACTIVE, S.PAST_DUE, S.CANCELED},
    S.ACTIVE: {S.PAST_DUE, S.PAUSED, S.CANCELED},
    S.PAST_DUE: {S.ACTIVE, S.UNPAID, S.PAUSED, S.CANCELED},
    S.UNPAID: {S.CANCELED},
    S.PAUSED: {S.ACTIVE, S.CANCELED},
    S.CANCELED: set(),
    S.INCOMPLETE_EXPIRED: set(),
}
PAIRS = [(current, target) for current in S for target in S]
ALLOWED = [(c, t) for c, t in PAIRS if t in EXPECTED[c]]
REFUSED = [(c, t) for c, t in PAIRS if t not in EXPECTED[c]]


def subscription_in(status: SubscriptionStatus) -> Subscription:
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    return Subscription(
        id="sub_lifecycle",
        workspace_id="ws_x",
        mode=Mode.TEST,
        created_at=start,
        updated_at=start,
        customer_id="cus_x",
        price_id="price_x",
        permission_id="perm_x",
        quantity=1,
        status=status,
        billing_anchor=start,
        anchor_index=0,
        period_index=0,
        current_period_start=start,
        current_period_end=start + timedelta(days=31),
        cancel_at_period_end=False,
        proration_balance=0,
        next_payment_attempt_at=AT + timedelta(days=2) if status is S.PAST_DUE else None,
        paused_at=start if status is S.PAUSED else None,
        resumes_at=AT + timedelta(days=5) if status is S.PAUSED else None,
        metadata_={},
    )


def expected_event(current: SubscriptionStatus, target: SubscriptionStatus) -> str:
    if target is S.CANCELED:
        return "subscription.canceled"
    if target is S.PAUSED:
        return "subscription.paused"
    if current is S.PAUSED:
        return "subscription.resumed"
    return "subscription.updated"


def recorded(session: AsyncSession) -> list[Event]:
    return [obj for obj in session.new if isinstance(obj, Event)]


def test_the_table_is_exactly_the_documented_one() -> None:
    assert {k: set(v) for k, v in lifecycle.TRANSITIONS.items()} == EXPECTED
    assert lifecycle.TERMINAL == {S.CANCELED, S.INCOMPLETE_EXPIRED}


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{c}->{t}" for c, t in ALLOWED])
async def test_an_allowed_transition_changes_the_status_and_records_one_event(
    current: SubscriptionStatus, target: SubscriptionStatus
) -> None:
    # Given a subscription in `current`
    subscription = subscription_in(current)
    session = AsyncSession()

    # When it moves to `target`
    await lifecycle.transition(session, subscription, target, at=AT, reason="payment_failed")

    # Then the status changed and exactly one event says so, with the previous status
    assert subscription.status is target
    [event] = recorded(session)
    assert event.type == expected_event(current, target)
    assert event.object_id == "sub_lifecycle"
    assert event.data["status"] == target.value
    assert event.data["previous_attributes"]["status"] == current.value


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=[f"{c}->{t}" for c, t in REFUSED])
async def test_a_refused_transition_raises_409_and_changes_nothing(
    current: SubscriptionStatus, target: SubscriptionStatus
) -> None:
    subscription = subscription_in(current)
    session = AsyncSession()

    with pytest.raises(SubscriptionStateInvalid) as refused:
        await lifecycle.transition(session, subscription, target, at=AT)

    assert refused.value.code == "subscription_state_invalid"
    assert refused.value.kind.value == "conflict"
    assert subscription.status is current
    assert recorded(session) == []


async def test_canceling_sets_the_end_and_the_reason_and_stops_dunning() -> None:
    subscription = subscription_in(S.PAST_DUE)

    await lifecycle.transition(
        AsyncSession(), subscription, S.CANCELED, at=AT, reason="payment_failed"
    )

    assert subscription.canceled_at == AT
    assert subscription.ended_at == AT
    assert subscription.cancellation_reason == "payment_failed"
    assert subscription.next_payment_attempt_at is None


async def test_a_cancellation_asked_earlier_keeps_its_time_and_reason() -> None:
    subscription = subscription_in(S.ACTIVE)
    asked = AT - timedelta(days=3)
    subscription.canceled_at, subscription.cancellation_reason = asked, "cancellation_requested"

    await lifecycle.transition(
        AsyncSession(), subscription, S.CANCELED, at=AT, reason="payment_failed"
    )

    assert subscription.canceled_at == asked
    assert subscription.ended_at == AT
    assert subscription.cancellation_reason == "cancellation_requested"


async def test_resuming_clears_the_pause_and_reports_it_as_previous() -> None:
    subscription = subscription_in(S.PAUSED)
    session = AsyncSession()

    await lifecycle.transition(session, subscription, S.ACTIVE, at=AT)

    assert subscription.paused_at is None
    assert subscription.resumes_at is None
    [event] = recorded(session)
    assert event.data["pause_collection"] is None
    assert event.data["previous_attributes"]["pause_collection"] == {
        "behavior": "void",
        "resumes_at": int((AT + timedelta(days=5)).timestamp()),
    }


async def test_expiring_an_incomplete_subscription_ends_it() -> None:
    subscription = subscription_in(S.INCOMPLETE)

    await lifecycle.transition(AsyncSession(), subscription, S.INCOMPLETE_EXPIRED, at=AT)

    assert subscription.ended_at == AT
    assert subscription.canceled_at is None


def test_chargeable_and_renewable_statuses() -> None:
    assert lifecycle.CHARGEABLE == {S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.PAST_DUE}
    assert lifecycle.RENEWABLE == {S.TRIALING, S.ACTIVE, S.PAST_DUE}
    assert not lifecycle.CHARGEABLE & {S.CANCELED, S.PAUSED, S.UNPAID, S.INCOMPLETE_EXPIRED}
