"""Subscription states, the one table of allowed transitions, and the billing calendar of a subscription.

Every status change goes through `transition`, which refuses anything not in `TRANSITIONS`
(``409 subscription_state_invalid``) and records the event of the change in the same transaction.
Nothing sets a status from an API payload: endpoints ask for an *action* (cancel, pause, resume)
and the action asks for a transition.

::

    incomplete ─first invoice paid──────────▶ active
    incomplete ─23 h without payment────────▶ incomplete_expired            (terminal)
    trialing ───trial-end invoice paid──────▶ active
    trialing ───trial-end payment failed────▶ past_due
    active ─────renewal payment failed──────▶ past_due ─paid─▶ active
    past_due ───retries exhausted / permanent failure ─▶ unpaid | canceled  (workspace setting)
    active, past_due ─pause─▶ paused ─resume─▶ active
    any but canceled, incomplete_expired ─cancel─▶ canceled                 (terminal)

Events: a change *to* ``canceled`` is ``subscription.canceled``, to ``paused`` is
``subscription.paused``, from ``paused`` to ``active`` is ``subscription.resumed``; every other
change is ``subscription.updated``. Each carries the subscription as the API shows it, plus
``previous_attributes`` with the values the change replaced.

Calendar: period ``n`` starts at ``billing_anchor + (n - anchor_index)`` intervals. ``anchor_index``
is 0 for a plain subscription, 1 after a trial (period 0 *is* the trial, uninvoiced) and the first
period after a resume or a change of interval that re-anchored the schedule (`restart_schedule`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from cyphera.coupon import service as coupons
from cyphera.coupon.schemas import Discount as DiscountBody
from cyphera.event import service as events
from cyphera.kit.ids import new_id
from cyphera.kit.periods import Interval, period_start, retry_deadline
from cyphera.models import CheckoutSession, Customer, Invoice, Permission, Price, Subscription
from cyphera.models.checkout_session import CheckoutSessionStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription.errors import SubscriptionStateInvalid
from cyphera.subscription.schemas import Subscription as SubscriptionBody

S = SubscriptionStatus

TRANSITIONS: Mapping[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    S.INCOMPLETE: frozenset({S.ACTIVE, S.INCOMPLETE_EXPIRED, S.CANCELED}),
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.CANCELED}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.UNPAID, S.PAUSED, S.CANCELED}),
    S.UNPAID: frozenset({S.CANCELED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELED}),
    S.CANCELED: frozenset(),
    S.INCOMPLETE_EXPIRED: frozenset(),
}
"""From each status, the statuses it may become. The only place this is written."""

TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
CHARGEABLE = frozenset({S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.PAST_DUE})
"""A payment of the subscription may be collected only in these statuses."""
RENEWABLE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE})
"""The scheduler opens the next period (or ends it, with ``cancel_at_period_end``) only in these."""
PERIOD_END_CANCELABLE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE})
"""``cancel_at_period_end`` can be set or cleared only while a period end is still coming."""

CANCELLATION_REQUESTED = "cancellation_requested"
PAYMENT_FAILED = "payment_failed"


def can_transition(current: SubscriptionStatus, to: SubscriptionStatus) -> bool:
    return to in TRANSITIONS[current]


def check_transition(subscription: Subscription, to: SubscriptionStatus, *, action: str) -> None:
    """Raise `SubscriptionStateInvalid` unless `subscription` may become `to` (for `action`)."""
    if not can_transition(subscription.status, to):
        raise SubscriptionStateInvalid(
            f"Cannot {action} a subscription that is {subscription.status.value}.",
        )


async def transition(
    session: AsyncSession,
    subscription: Subscription,
    to: SubscriptionStatus,
    *,
    at: datetime,
    reason: str | None = None,
) -> None:
    """Move `subscription` to `to` (or refuse), set the timestamps that go with it, record the event.

    The caller holds the subscription's row lock.
    """
    current = subscription.status
    if not can_transition(current, to):
        raise SubscriptionStateInvalid(
            f"A subscription that is {current.value} cannot become {to.value}."
        )
    previous: dict[str, Any] = {"status": current.value}
    if current is S.PAUSED:
        previous["pause_collection"] = _pause(subscription)
    if to in TERMINAL and subscription.pending_checkout_session_id is not None:
        previous["pending_update"] = await drop_pending_update(session, subscription)
    subscription.status = to
    if to is S.CANCELED:
        subscription.canceled_at = subscription.canceled_at or at
        subscription.ended_at = at
        subscription.cancellation_reason = subscription.cancellation_reason or reason
        subscription.next_payment_attempt_at = None
        subscription.resumes_at = None
    elif to is S.INCOMPLETE_EXPIRED:
        subscription.ended_at = at
    elif to is S.PAUSED:
        subscription.paused_at = at
        subscription.next_payment_attempt_at = None
    elif to is S.UNPAID:
        subscription.next_payment_attempt_at = None
    elif to is S.ACTIVE:
        subscription.next_payment_attempt_at = None
        if current is S.PAUSED:
            subscription.paused_at = None
            subscription.resumes_at = None
    if to is S.CANCELED:
        kind = "subscription.canceled"
    elif to is S.PAUSED:
        kind = "subscription.paused"
    elif current is S.PAUSED:
        kind = "subscription.resumed"
    else:
        kind = "subscription.updated"
    await record_event(session, subscription, kind, previous=previous)


async def record_event(
    session: AsyncSession,
    subscription: Subscription,
    kind: str,
    *,
    previous: Mapping[str, Any] | None = None,
) -> None:
    """Record `kind` about `subscription`: its API representation (+ ``previous_attributes``)."""
    data: dict[str, Any] = (await view(session, subscription)).model_dump(mode="json")
    if previous is not None:
        data["previous_attributes"] = dict(previous)
    await events.record(
        session,
        workspace_id=subscription.workspace_id,
        mode=subscription.mode,
        type=kind,
        object_id=subscription.id,
        data=data,
    )


async def drop_pending_update(
    session: AsyncSession, subscription: Subscription
) -> dict[str, Any] | None:
    """Drop the subscription's pending price change (locked by the caller): its checkout session,
    if still open, is expired so it can no longer be completed. Returns the dropped
    ``pending_update`` as the API showed it (None: there was none)."""
    dropped = SubscriptionBody.from_model(subscription).pending_update
    if subscription.pending_checkout_session_id is not None:
        await session.execute(
            update(CheckoutSession)
            .where(
                CheckoutSession.id == subscription.pending_checkout_session_id,
                CheckoutSession.status == CheckoutSessionStatus.OPEN,
            )
            .values(status=CheckoutSessionStatus.EXPIRED)
        )
    subscription.pending_price_id = None
    subscription.pending_quantity = None
    subscription.pending_proration_behavior = None
    subscription.pending_checkout_session_id = None
    subscription.pending_checkout_url = None
    subscription.pending_expires_at = None
    return None if dropped is None else dropped.model_dump(mode="json")


async def view(session: AsyncSession, subscription: Subscription) -> SubscriptionBody:
    """The API shape of `subscription`, with its current discount.

    A subscription that belongs to no session (built in memory, never stored) has none to load.
    """
    if object_session(subscription) is None:
        return SubscriptionBody.from_model(subscription)
    current = await coupons.current_discount(session, subscription.id)
    discount = None if current is None else DiscountBody.from_model(*current)
    return SubscriptionBody.from_model(subscription, discount=discount)


def _pause(subscription: Subscription) -> dict[str, Any] | None:
    pause = SubscriptionBody.from_model(subscription).pause_collection
    return None if pause is None else pause.model_dump(mode="json")


# --- the calendar ------------------------------------------------------------------------------


def plan_of(price: Price) -> tuple[Interval, int]:
    if price.recurring_interval is None or price.recurring_interval_count is None:
        raise ValueError(f"price {price.id} is not recurring")
    return Interval(price.recurring_interval), price.recurring_interval_count


def period_bounds(
    subscription: Subscription, price: Price, index: int
) -> tuple[datetime, datetime]:
    """Start and end of period `index` (at or after the anchor's period)."""
    interval, count = plan_of(price)
    offset = index - subscription.anchor_index
    return (
        period_start(subscription.billing_anchor, interval, count, offset),
        period_start(subscription.billing_anchor, interval, count, offset + 1),
    )


def restart_schedule(subscription: Subscription, price: Price, *, at: datetime) -> None:
    """Re-anchor the schedule at `at`: the next period (``period_index + 1``) becomes current and
    starts there, on `price`'s interval — a resume after the paid period, or a change of interval
    (`cyphera.subscription.actions`, `cyphera.subscription.changes`). The caller opens its
    invoice.

    Safe on-chain when the permission's windows started at or before `at` and nothing else was
    charged in `at`'s window: the due dates from `at` on are one period — at least one window —
    apart (`cyphera.kit.periods`)."""
    index = subscription.period_index + 1
    subscription.billing_anchor = at.replace(microsecond=0)
    subscription.anchor_index = index
    subscription.period_index = index
    subscription.current_period_start, subscription.current_period_end = period_bounds(
        subscription, price, index
    )


def charge_deadline(
    subscription: Subscription, price: Price, permission: Permission, index: int
) -> datetime | None:
    """The last instant (exclusive) period `index` may be charged: inside its own on-chain window
    (`cyphera.kit.periods.retry_deadline`), so no charge ever takes another period's room.

    None for a period before the anchor's (a trial, or a period a resume re-anchored past): its
    window has closed.
    """
    if index < subscription.anchor_index:
        return None
    interval, count = plan_of(price)
    return retry_deadline(
        subscription.billing_anchor,
        interval,
        count,
        index - subscription.anchor_index,
        permission.start_at,
    )


def is_current_invoice(subscription: Subscription, invoice: Invoice) -> bool:
    """Whether `invoice` is the regular invoice of the subscription's current period."""
    return (
        invoice.subscription_id == subscription.id
        and invoice.period_index is not None
        and invoice.period_index == subscription.period_index
    )


def period_index_of(subscription: Subscription, invoice: Invoice) -> int | None:
    """The period whose on-chain window `invoice` must be charged in; None if it has passed.

    A regular invoice has its period; a proration invoice (no period index) belongs to the period
    that was current when it was made, and only while that period is still current.
    """
    if invoice.period_index is not None:
        return invoice.period_index
    if invoice.period_start == subscription.current_period_start:
        return subscription.period_index
    return None


# --- creation and the cycle ----------------------------------------------------------------------


async def create(
    session: AsyncSession,
    *,
    customer: Customer,
    price: Price,
    permission: Permission,
    quantity: int,
    anchor: datetime,
    test_clock_id: str | None = None,
) -> Subscription:
    """A new subscription starting at `anchor`: ``trialing`` when the price has trial days (the
    first period is then billed at the trial's end), else ``incomplete`` until its first invoice
    is paid."""
    interval, count = plan_of(price)
    trial_days = price.trial_period_days or 0
    subscription = Subscription(
        id=new_id("sub"),
        workspace_id=customer.workspace_id,
        mode=customer.mode,
        created_at=anchor,
        updated_at=anchor,
        customer_id=customer.id,
        price_id=price.id,
        permission_id=permission.id,
        quantity=quantity,
        period_index=0,
        current_period_start=anchor,
        cancel_at_period_end=False,
        proration_balance=0,
        test_clock_id=test_clock_id,
        metadata_={},
    )
    if trial_days > 0:
        trial_end = anchor + timedelta(days=trial_days)
        subscription.status = S.TRIALING
        subscription.trial_start = anchor
        subscription.trial_end = trial_end
        # Period 0 is the trial; the paid periods are anchored at its end.
        subscription.billing_anchor = trial_end
        subscription.anchor_index = 1
        subscription.current_period_end = trial_end
    else:
        subscription.status = S.INCOMPLETE
        subscription.billing_anchor = anchor
        subscription.anchor_index = 0
        subscription.current_period_end = period_start(anchor, interval, count, 1)
    session.add(subscription)
    await session.flush()
    await record_event(session, subscription, "subscription.created")
    return subscription


async def get_for_update(session: AsyncSession, subscription_id: str) -> Subscription:
    return (
        await session.execute(
            select(Subscription).where(Subscription.id == subscription_id).with_for_update()
        )
    ).scalar_one()


async def advance_period(
    session: AsyncSession, *, subscription: Subscription, price: Price
) -> None:
    """Move to the next period (the caller opens its invoice in the same transaction)."""
    index = subscription.period_index + 1
    start, end = period_bounds(subscription, price, index)
    subscription.period_index = index
    subscription.current_period_start = start
    subscription.current_period_end = end


async def mark_invoice_paid(
    session: AsyncSession, subscription: Subscription, invoice: Invoice, *, at: datetime
) -> None:
    """The current period's invoice is paid: an incomplete, trialing or past-due subscription is
    active again. A paid invoice never revives a canceled, paused or expired one."""
    if not is_current_invoice(subscription, invoice):
        return
    if subscription.status in (S.INCOMPLETE, S.TRIALING, S.PAST_DUE):
        await transition(session, subscription, S.ACTIVE, at=at)
