"""Subscription actions: cancel (now or at the period's end), pause, resume.

Each action locks the subscription (then its invoices, then their payments: the order
`billing.collect` uses, so an action waits for a charge in flight instead of racing it), asks
`lifecycle.transition` for the status change, and records its event in the same transaction.

Decisions worth knowing (``docs/subscriptions.md`` has the long form):

* **Cancel now** voids the open invoices, except one whose payment is already in flight: that
  payment's outcome settles it (paid if the transfer landed, void otherwise). Once canceled,
  `billing.collect` refuses to charge, even for a collection job queued before the cancel.
* **Pause** (Stripe's ``pause_collection`` with ``behavior=void``): nothing is renewed or charged
  while paused; open invoices are voided. **Resume** before the paid period ends simply continues
  the schedule. Resume after it **re-anchors** the schedule at the resume instant and bills a
  full new period at once. That is always safe on-chain: the resume is at or after the old
  period's end, which is at or after the end of the on-chain window the last charge used, so the
  new first charge falls in a fresh window, and the new due dates are again one window apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.auth.scope import Scope
from cyphera.exceptions import InvalidRequest
from cyphera.kit.clock import Clock, from_unix
from cyphera.models import Invoice, Permission, Price, Subscription
from cyphera.models.subscription import SubscriptionStatus
from cyphera.permission.service import is_usable
from cyphera.subscription import billing, dunning, lifecycle
from cyphera.subscription.errors import PermissionUnusable, SubscriptionStateInvalid
from cyphera.subscription.service import get_subscription, set_cancel_at_period_end

__all__ = ["cancel", "pause", "resume", "resume_subscription"]

S = SubscriptionStatus


async def cancel(
    session: AsyncSession,
    *,
    scope: Scope,
    subscription_id: str,
    clock: Clock,
    at_period_end: bool = False,
) -> Subscription:
    """Cancel now, or at the end of the current period (`at_period_end`)."""
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    now = clock.now()
    if at_period_end:
        previous = set_cancel_at_period_end(subscription, value=True, at=now)
        if previous:
            await lifecycle.record_event(
                session, subscription, "subscription.updated", previous=previous
            )
        return subscription
    lifecycle.check_transition(subscription, S.CANCELED, action="cancel")
    await dunning.close_open_invoices(session, subscription)
    await lifecycle.transition(
        session, subscription, S.CANCELED, at=now, reason=lifecycle.CANCELLATION_REQUESTED
    )
    return subscription


async def pause(
    session: AsyncSession,
    *,
    scope: Scope,
    subscription_id: str,
    clock: Clock,
    resumes_at: int | None = None,
) -> Subscription:
    """Pause an active or past-due subscription: no renewal, no charge, open invoices voided."""
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    now = clock.now()
    lifecycle.check_transition(subscription, S.PAUSED, action="pause")
    if subscription.cancel_at_period_end:
        raise SubscriptionStateInvalid(
            "This subscription is set to cancel at the end of its period; clear "
            "cancel_at_period_end before pausing it.",
            param="cancel_at_period_end",
        )
    resume_at = None if resumes_at is None else from_unix(resumes_at)
    if resume_at is not None and resume_at <= now:
        raise InvalidRequest(
            "resumes_at must be in the future", code="parameter_invalid", param="resumes_at"
        )
    await dunning.close_open_invoices(session, subscription)
    subscription.resumes_at = resume_at
    await lifecycle.transition(session, subscription, S.PAUSED, at=now)
    return subscription


async def resume(
    session: AsyncSession, *, scope: Scope, subscription_id: str, clock: Clock
) -> Subscription:
    subscription = await get_subscription(
        session, scope=scope, subscription_id=subscription_id, for_update=True
    )
    await resume_subscription(session, subscription, now=clock.now())
    return subscription


async def resume_subscription(
    session: AsyncSession, subscription: Subscription, *, now: datetime
) -> Invoice | None:
    """Resume a paused subscription (locked by the caller); returns the invoice it opened, if any.

    Before the paid period's end the schedule continues unchanged. At or after it, the schedule
    is re-anchored at `now` and the new first period is invoiced and collected at once.
    """
    if subscription.status is not S.PAUSED:
        raise SubscriptionStateInvalid(
            f"Only a paused subscription can be resumed; this one is {subscription.status.value}."
        )
    permission = (
        await session.get(Permission, subscription.permission_id)
        if subscription.permission_id
        else None
    )
    if permission is None or not is_usable(permission, at=now):
        raise PermissionUnusable(
            "The customer's permission is revoked or expired, so this subscription cannot be "
            "charged again. Cancel it and create a new checkout session for the customer."
        )
    if now < subscription.current_period_end:
        await lifecycle.transition(session, subscription, S.ACTIVE, at=now)
        return None
    price = await session.get_one(Price, subscription.price_id)
    lifecycle.restart_schedule(subscription, price, at=now)
    await lifecycle.transition(session, subscription, S.ACTIVE, at=now)
    invoice, _ = await billing.open_period_invoice(
        session, subscription=subscription, price=price, permission=permission
    )
    return invoice
