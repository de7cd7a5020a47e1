"""What happens when a payment fails: past_due, retries on a schedule, then unpaid or canceled.

* The first failure of a renewal (or of the trial-end invoice) makes the subscription ``past_due``.
* A failure with a *permanent* code (`PERMANENT_FAILURES`: the permission is revoked, expired or
  unusable, the on-chain window is closed, …) ends dunning at once: retrying cannot succeed and
  the customer has to grant a new permission through a new checkout session.
* Otherwise the invoice is retried after the workspace's schedule (``dunning_retry_days``, by
  default 2, 5 and 7 days after each failed attempt), but never past the period's on-chain window
  (`cyphera.subscription.lifecycle.charge_deadline`): a retry that would land later is brought
  forward to `RETRY_MARGIN` before the window closes, or dropped if there is no room left. A
  retry outside the window would take room that belongs to the next period.
* When no retry is left, the invoice is marked ``uncollectible`` and the subscription becomes the
  workspace's ``dunning_final_status`` (``canceled`` by default, or ``unpaid``).

Canceling or pausing a past-due subscription stops dunning: retries are only made for
``past_due`` subscriptions, and collection refuses any other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.invoice import service as invoices
from cyphera.models import Invoice, Payment, Permission, Price, Subscription, Workspace
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import IN_FLIGHT, PaymentStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.models.workspace import DunningFinalStatus
from cyphera.subscription import lifecycle

S = SubscriptionStatus

PERMANENT_FAILURES = frozenset(
    {
        "permission_revoked",
        "permission_expired",
        "permission_exhausted",
        "invalid_permission",
        "policy_violation",
        # The enforcer refused the period's amount: a scheduling bug, never fixed by retrying.
        "period_cap_reached",
        "period_window_closed",
        "subscription_canceled",
        "subscription_paused",
        "subscription_unpaid",
        "subscription_incomplete_expired",
        "invoice_not_open",
    }
)
RETRY_MARGIN = timedelta(hours=1)

log = structlog.get_logger(__name__)


def next_attempt_at(
    *, failed_at: datetime, attempts: int, retry_days: list[int], deadline: datetime
) -> datetime | None:
    """When to retry after the `attempts`-th failed attempt, or None when dunning is over."""
    if attempts < 1 or attempts > len(retry_days):
        return None
    candidate = min(failed_at + timedelta(days=retry_days[attempts - 1]), deadline - RETRY_MARGIN)
    return candidate if candidate > failed_at else None


async def on_payment_failed(
    session: AsyncSession,
    *,
    subscription: Subscription,
    invoice: Invoice,
    code: str,
    price: Price,
    permission: Permission | None,
    now: datetime,
) -> None:
    """React to a failed attempt at `invoice` (locked, with its subscription, by the caller)."""
    if invoice.status is not InvoiceStatus.OPEN:
        return
    if subscription.status not in lifecycle.CHARGEABLE:
        # Canceled, paused or expired while the attempt was in flight: nothing will collect it.
        await invoices.void(session, invoice=invoice)
        return
    if not lifecycle.is_current_invoice(subscription, invoice):
        # A proration invoice, or a period already left behind: its window is gone.
        await invoices.mark_uncollectible(session, invoice=invoice)
        return
    if subscription.status is S.INCOMPLETE:
        return  # the first payment: the customer is at checkout; expiry ends it after 23 h
    if subscription.status is not S.PAST_DUE:
        await lifecycle.transition(session, subscription, S.PAST_DUE, at=now)
    workspace = await session.get_one(Workspace, subscription.workspace_id)
    retry = None
    deadline = (
        lifecycle.charge_deadline(subscription, price, permission, subscription.period_index)
        if permission is not None
        else None
    )
    if code not in PERMANENT_FAILURES and deadline is not None:
        retry = next_attempt_at(
            failed_at=now,
            attempts=await _failed_attempts(session, invoice),
            retry_days=list(workspace.dunning_retry_days),
            deadline=deadline,
        )
    if retry is not None:
        subscription.next_payment_attempt_at = retry
        log.info("dunning.retry_scheduled", subscription_id=subscription.id, at=retry.isoformat())
        return
    await give_up(session, subscription=subscription, invoice=invoice, workspace=workspace, now=now)


async def give_up(
    session: AsyncSession,
    *,
    subscription: Subscription,
    invoice: Invoice,
    workspace: Workspace,
    now: datetime,
) -> None:
    """Dunning is over: the invoice is uncollectible, the subscription unpaid or canceled."""
    await invoices.mark_uncollectible(session, invoice=invoice)
    final = S.UNPAID if workspace.dunning_final_status is DunningFinalStatus.UNPAID else S.CANCELED
    await lifecycle.transition(
        session, subscription, final, at=now, reason=lifecycle.PAYMENT_FAILED
    )
    log.info("dunning.ended", subscription_id=subscription.id, status=final.value)


async def close_open_invoices(
    session: AsyncSession, subscription: Subscription, *, uncollectible: bool = False
) -> list[Invoice]:
    """Void (or mark uncollectible) the subscription's open invoices that have no payment in
    flight; returns those left open because a payment is in flight (its outcome will settle them).

    Locks in the fixed order: the caller holds the subscription; invoices, then their payments.
    """
    await session.flush()
    open_invoices = (
        (
            await session.execute(
                select(Invoice)
                .where(
                    Invoice.subscription_id == subscription.id,
                    Invoice.status == InvoiceStatus.OPEN,
                )
                .order_by(Invoice.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    kept: list[Invoice] = []
    for invoice in open_invoices:
        if await has_payment_in_flight(session, invoice):
            kept.append(invoice)
        elif uncollectible:
            await invoices.mark_uncollectible(session, invoice=invoice)
        else:
            await invoices.void(session, invoice=invoice)
    return kept


async def has_payment_in_flight(session: AsyncSession, invoice: Invoice) -> bool:
    in_flight = (
        (
            await session.execute(
                select(Payment.id)
                .where(Payment.invoice_id == invoice.id, Payment.status.in_(IN_FLIGHT))
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    return bool(in_flight)


async def _failed_attempts(session: AsyncSession, invoice: Invoice) -> int:
    await session.flush()  # the attempt that just failed counts too
    count = await session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.invoice_id == invoice.id, Payment.status == PaymentStatus.FAILED)
    )
    return int(count or 0)
