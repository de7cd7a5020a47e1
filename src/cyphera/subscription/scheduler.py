"""The periodic steps of the subscription lifecycle (the worker runs each every minute).

Each step claims its subscriptions with ``FOR UPDATE SKIP LOCKED`` in one transaction, so two
workers, or a run that overlaps the previous one, never handle the same subscription twice, and
a subscription an action (cancel, pause, a charge) is holding is simply picked up next time.
Each is a plain function of a sessionmaker and a clock that tests call directly.

* `expire_incomplete`: ``incomplete`` 23 hours after it started with no payment in flight →
  ``incomplete_expired``; its open invoice is voided.
* `notify_trials_ending`: ``subscription.trial_will_end`` once, three days before a trial ends
  (at once for a shorter trial).
* `resume_due`: paused subscriptions whose ``resumes_at`` has come are resumed.
* `retry_due`: past-due subscriptions whose next dunning attempt has come get a new payment of
  their open invoice and its collection job.
* `expire_pending_updates`: a price change waiting for a larger permission whose checkout
  session has lapsed is dropped (`cyphera.subscription.pending`).

Every step takes `test_clock_id`: the regular run (None) skips the subscriptions attached to a
test clock; a clock's advance (`cyphera.testclock.service`) runs the same steps for its own only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, SQLColumnExpression, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.kit.clock import Clock
from cyphera.models import Subscription
from cyphera.models.subscription import SubscriptionStatus
from cyphera.subscription import actions, billing, dunning, lifecycle
from cyphera.subscription.errors import PermissionUnusable

S = SubscriptionStatus
INCOMPLETE_LIFETIME = timedelta(hours=23)
TRIAL_WILL_END_NOTICE = timedelta(days=3)
BATCH = 200

PeriodicStep = Callable[..., Awaitable[list[str]]]

log = structlog.get_logger(__name__)


async def _claim(
    session: AsyncSession,
    *conditions: ColumnElement[bool],
    order_by: SQLColumnExpression[Any],
    limit: int,
    test_clock_id: str | None,
) -> Sequence[Subscription]:
    """Lock up to `limit` subscriptions on `test_clock_id`'s time meeting every condition,
    in `order_by` then id order; those another transaction holds are skipped."""
    statement = (
        select(Subscription)
        .where(*conditions, billing.on_clock(test_clock_id))
        .order_by(order_by, Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().all()


async def expire_incomplete(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int = BATCH,
    test_clock_id: str | None = None,
) -> list[str]:
    """Expire subscriptions still ``incomplete`` 23 h after they started; returns their ids."""
    now = clock.now()
    expired: list[str] = []
    async with transaction(sessionmaker) as session:
        due = await _claim(
            session,
            Subscription.status == S.INCOMPLETE,
            Subscription.current_period_start <= now - INCOMPLETE_LIFETIME,
            order_by=Subscription.current_period_start,
            limit=limit,
            test_clock_id=test_clock_id,
        )
        for subscription in due:
            kept = await dunning.close_open_invoices(session, subscription)
            if kept:
                # The first payment is still with the signer: its outcome decides.
                continue
            await lifecycle.transition(session, subscription, S.INCOMPLETE_EXPIRED, at=now)
            expired.append(subscription.id)
    return expired


async def notify_trials_ending(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int = BATCH,
    test_clock_id: str | None = None,
) -> list[str]:
    """Record ``subscription.trial_will_end`` for trials ending within three days; once each."""
    now = clock.now()
    notified: list[str] = []
    async with transaction(sessionmaker) as session:
        due = await _claim(
            session,
            Subscription.status == S.TRIALING,
            Subscription.trial_end_notified_at.is_(None),
            Subscription.trial_end > now,
            Subscription.trial_end <= now + TRIAL_WILL_END_NOTICE,
            order_by=Subscription.trial_end,
            limit=limit,
            test_clock_id=test_clock_id,
        )
        for subscription in due:
            subscription.trial_end_notified_at = now
            await lifecycle.record_event(session, subscription, "subscription.trial_will_end")
            notified.append(subscription.id)
    return notified


async def resume_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int = BATCH,
    test_clock_id: str | None = None,
) -> list[str]:
    """Resume paused subscriptions whose ``resumes_at`` has come; returns their ids."""
    now = clock.now()
    resumed: list[str] = []
    async with transaction(sessionmaker) as session:
        due = await _claim(
            session,
            Subscription.status == S.PAUSED,
            Subscription.resumes_at <= now,
            order_by=Subscription.resumes_at,
            limit=limit,
            test_clock_id=test_clock_id,
        )
        for subscription in due:
            try:
                async with session.begin_nested():
                    await actions.resume_subscription(session, subscription, now=now)
            except PermissionUnusable:
                # Nothing can be charged any more: it stays paused for the merchant to cancel.
                subscription.resumes_at = None
                log.warning("subscription.resume_refused", subscription_id=subscription.id)
                continue
            resumed.append(subscription.id)
    return resumed


async def retry_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int = BATCH,
    test_clock_id: str | None = None,
) -> list[str]:
    """Make the dunning attempts that are due; returns the ids of the payments created."""
    now = clock.now()
    created: list[str] = []
    async with transaction(sessionmaker) as session:
        due = await _claim(
            session,
            Subscription.status == S.PAST_DUE,
            Subscription.next_payment_attempt_at <= now,
            order_by=Subscription.next_payment_attempt_at,
            limit=limit,
            test_clock_id=test_clock_id,
        )
        for subscription in due:
            payment = await billing.retry_payment(session, subscription=subscription, now=now)
            if payment is not None:
                created.append(payment.id)
    return created


async def expire_pending_updates(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int = BATCH,
    test_clock_id: str | None = None,
) -> list[str]:
    """Drop the pending price changes whose checkout session has lapsed; returns their ids."""
    now = clock.now()
    dropped: list[str] = []
    async with transaction(sessionmaker) as session:
        due = await _claim(
            session,
            Subscription.pending_expires_at <= now,
            order_by=Subscription.pending_expires_at,
            limit=limit,
            test_clock_id=test_clock_id,
        )
        for subscription in due:
            previous = await lifecycle.drop_pending_update(session, subscription)
            await lifecycle.record_event(
                session, subscription, "subscription.updated", previous={"pending_update": previous}
            )
            dropped.append(subscription.id)
    return dropped


PERIODIC_STEPS: dict[str, PeriodicStep] = {
    "subscription.expire_incomplete": expire_incomplete,
    "subscription.notify_trials_ending": notify_trials_ending,
    "subscription.resume_due": resume_due,
    "subscription.retry_due": retry_due,
    "subscription.expire_pending_updates": expire_pending_updates,
}
"""Task name → step; `cyphera.worker.app` schedules each every minute."""
