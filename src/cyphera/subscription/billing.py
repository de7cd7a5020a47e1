"""The billing cycle: opening each period's invoice and collecting it exactly once.

Exactly once, whatever crashes and wherever:

* `renew_due` claims due subscriptions with ``FOR UPDATE SKIP LOCKED`` and, in one transaction,
  advances the period, opens its invoice (unique per subscription and period), creates the pending
  payment and enqueues its collection job. A crash before the commit leaves nothing; after it,
  everything is there, and a second run finds the subscription no longer due.
* `collect` locks subscription → invoice → payment (the fixed order every writer uses), re-checks
  that charging is still allowed (a cancel waits on the same locks), and asks the signer for the
  charge keyed by the payment id. The signer persists the charge before it signs and returns the
  existing charge for a known key, so a retry after an unknown outcome (timeout, crash, lost reply)
  can only observe the first charge, never make a second.
* When a subscription is no longer chargeable, a pending payment is only failed after the signer
  confirms it has never seen it.

A failed attempt goes to `cyphera.subscription.dunning` (past_due, retries, then unpaid or
canceled); a paid one to `cyphera.subscription.lifecycle.mark_invoice_paid`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cyphera.db.engine import transaction
from cyphera.db.jobs import defer
from cyphera.invoice import service as invoices
from cyphera.kit.clock import Clock
from cyphera.models import Invoice, Payment, Permission, Price, Subscription
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.payment import IN_FLIGHT, PaymentStatus
from cyphera.models.permission import PermissionStatus
from cyphera.models.subscription import SubscriptionStatus
from cyphera.payment import metrics as charge_metrics
from cyphera.payment import service as payments
from cyphera.payment.gateway import ChargeGateway, ChargeOutcome, ChargeState
from cyphera.permission.service import is_usable
from cyphera.subscription import dunning, invoice_lines, lifecycle
from cyphera.subscription.proration import ProrationLine

COLLECT_TASK = "payment.collect"
RECHECK_DELAY = timedelta(seconds=5)


async def enqueue_collect(
    session: AsyncSession, payment: Payment, *, at: datetime | None = None
) -> None:
    """Enqueue collection of `payment` in the caller's transaction (deduplicated while waiting)."""
    await defer(
        session,
        COLLECT_TASK,
        args={"payment_id": payment.id},
        lock=f"payment:{payment.id}",
        queueing_lock=f"payment:{payment.id}",
        scheduled_at=at,
    )


async def open_period_invoice(
    session: AsyncSession,
    *,
    subscription: Subscription,
    price: Price,
    permission: Permission | None,
) -> tuple[Invoice, Payment | None]:
    """Open the current period's invoice and, when the permission can pay it, its payment.

    The pending proration balance is applied (a credit never takes the amount below zero; what is
    left carries over). An invoice of zero is paid at once, with no charge.
    """
    bill = await invoice_lines.bill_period(session, subscription=subscription, price=price)
    amount_due, subscription.proration_balance = bill.amount_due, bill.balance_left
    invoice = await invoices.open_for_period(
        session,
        subscription=subscription,
        period_index=subscription.period_index,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        amount_due=amount_due,
        currency=price.currency,
    )
    await invoices.add_lines(session, invoice=invoice, lines=bill.lines)
    if amount_due == 0:
        at = subscription.current_period_start
        await invoices.mark_paid(session, invoice=invoice, at=at)
        await lifecycle.mark_invoice_paid(session, subscription, invoice, at=at)
        return invoice, None
    if permission is None:
        return invoice, None
    payment = await payments.create_for_invoice(session, invoice=invoice, permission=permission)
    await enqueue_collect(session, payment)
    return invoice, payment


async def start(
    session: AsyncSession, *, subscription: Subscription, price: Price, permission: Permission
) -> Payment | None:
    """Bill a new subscription: its first period's invoice and payment, or nothing while it is
    trialing (the trial's end is a renewal, which bills the first paid period)."""
    if subscription.status is SubscriptionStatus.TRIALING:
        return None
    _, payment = await open_period_invoice(
        session, subscription=subscription, price=price, permission=permission
    )
    return payment


async def open_proration_invoice(
    session: AsyncSession,
    *,
    subscription: Subscription,
    permission: Permission,
    subtotal: int,
    currency: str,
    at: datetime,
    lines: Sequence[ProrationLine] = (),
) -> tuple[Invoice, Payment | None]:
    """Invoice a net proration of `subtotal` now, less the subscription's discount if one applies
    (a `once` discount is used up by it), and enqueue its collection (``always_invoice``). An
    invoice the discount takes to zero is paid at `at`, with no charge."""
    bill = await invoice_lines.bill_proration(
        session, subscription=subscription, proration_lines=lines, subtotal=subtotal
    )
    invoice = await invoices.open_proration(
        session,
        subscription=subscription,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        amount_due=bill.amount_due,
        currency=currency,
    )
    await invoices.add_lines(session, invoice=invoice, lines=bill.lines)
    if bill.amount_due == 0:
        await invoices.mark_paid(session, invoice=invoice, at=at)
        return invoice, None
    payment = await payments.create_for_invoice(session, invoice=invoice, permission=permission)
    await enqueue_collect(session, payment)
    return invoice, payment


def unusable_code(permission: Permission | None) -> str:
    """The failure code of charging under a permission `is_usable` refused."""
    if permission is None or permission.status is PermissionStatus.REVOKED:
        return "permission_revoked"
    if permission.replaced_by_id is not None:
        return "permission_replaced"
    if permission.status is PermissionStatus.EXHAUSTED:
        return "permission_exhausted"
    return "permission_expired"


async def end_at_period_end(session: AsyncSession, *, subscription: Subscription) -> None:
    """``cancel_at_period_end`` reached: canceled as of the period's end, nothing left to collect."""
    await dunning.close_open_invoices(session, subscription)
    await lifecycle.transition(
        session,
        subscription,
        SubscriptionStatus.CANCELED,
        at=subscription.current_period_end,
        reason=lifecycle.CANCELLATION_REQUESTED,
    )


def on_clock(test_clock_id: str | None) -> ColumnElement[bool]:
    """The subscriptions living at `test_clock_id`'s time, or at the platform's when None.

    Every periodic step filters with it: the regular run never touches a test clock's
    subscriptions, and a clock's advance touches nothing else.
    """
    if test_clock_id is None:
        return Subscription.test_clock_id.is_(None)
    return Subscription.test_clock_id == test_clock_id


async def renew_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int = 200,
    test_clock_id: str | None = None,
) -> list[str]:
    """Advance up to `limit` due subscriptions by one period; the ids of the invoices opened.

    A trialing subscription is due at its trial's end: this opens its first paid period. Only the
    subscriptions of `test_clock_id` are seen (none attached to a test clock when it is None).
    """
    opened, _ = await _renew_chunk(
        sessionmaker, clock=clock, limit=limit, test_clock_id=test_clock_id
    )
    return opened


async def renew_all_due(
    sessionmaker: async_sessionmaker[AsyncSession], *, clock: Clock, chunk: int = 200
) -> int:
    """Renew every due subscription, `chunk` at a time, each chunk in its own transaction (so
    locks are short and a crash loses at most the chunk in progress, which the next run redoes);
    how many subscriptions were taken. A subscription several periods behind is advanced once
    per chunk it appears in, as successive runs would."""
    total = 0
    while True:
        _, taken = await _renew_chunk(sessionmaker, clock=clock, limit=chunk, test_clock_id=None)
        total += taken
        if taken < chunk:
            return total


def due_for_renewal(now: datetime, limit: int, test_clock_id: str | None) -> Select[Subscription]:
    """The renewal tick's query: the oldest due subscriptions, locked, skipping those another
    transaction holds. It walks ``ix_subscriptions_status_current_period_end`` (one range per
    renewable status), so its cost does not grow with the subscriptions not yet due."""
    return (
        select(Subscription)
        .where(
            Subscription.status.in_(lifecycle.RENEWABLE),
            Subscription.current_period_end <= now,
            on_clock(test_clock_id),
        )
        .order_by(Subscription.current_period_end, Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def _renew_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    clock: Clock,
    limit: int,
    test_clock_id: str | None,
) -> tuple[list[str], int]:
    now = clock.now()
    opened: list[str] = []
    async with transaction(sessionmaker) as session:
        due = (await session.scalars(due_for_renewal(now, limit, test_clock_id))).all()
        for subscription in due:
            if subscription.cancel_at_period_end:
                await end_at_period_end(session, subscription=subscription)
                continue
            price = await session.get_one(Price, subscription.price_id)
            permission = (
                await session.get(Permission, subscription.permission_id)
                if subscription.permission_id
                else None
            )
            if subscription.status is SubscriptionStatus.PAST_DUE:
                # Dunning ends inside the period's on-chain window, before the next due date; an
                # invoice still open now (a stopped worker) can no longer be collected.
                await dunning.close_open_invoices(session, subscription, uncollectible=True)
                subscription.next_payment_attempt_at = None
            await lifecycle.advance_period(session, subscription=subscription, price=price)
            usable = permission if permission and is_usable(permission, at=now) else None
            invoice, _ = await open_period_invoice(
                session, subscription=subscription, price=price, permission=usable
            )
            if usable is None and invoice.status is InvoiceStatus.OPEN:
                await dunning.on_payment_failed(
                    session,
                    subscription=subscription,
                    invoice=invoice,
                    code=unusable_code(permission),
                    price=price,
                    permission=permission,
                    now=now,
                )
            opened.append(invoice.id)
    return opened, len(due)


async def retry_payment(
    session: AsyncSession, *, subscription: Subscription, now: datetime
) -> Payment | None:
    """Make the next dunning attempt at the current period's invoice (subscription locked)."""
    subscription.next_payment_attempt_at = None
    invoice = (
        await session.execute(
            select(Invoice)
            .where(
                Invoice.subscription_id == subscription.id,
                Invoice.period_index == subscription.period_index,
                Invoice.status == InvoiceStatus.OPEN,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if invoice is None or await dunning.has_payment_in_flight(session, invoice):
        return None
    price = await session.get_one(Price, subscription.price_id)
    permission = (
        await session.get(Permission, subscription.permission_id)
        if subscription.permission_id
        else None
    )
    if permission is None or not is_usable(permission, at=now):
        await dunning.on_payment_failed(
            session,
            subscription=subscription,
            invoice=invoice,
            code=unusable_code(permission),
            price=price,
            permission=permission,
            now=now,
        )
        return None
    payment = await payments.create_for_invoice(session, invoice=invoice, permission=permission)
    await enqueue_collect(session, payment)
    return payment


async def collect(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    payment_id: str,
    gateway: ChargeGateway,
    clock: Clock,
    wait_seconds: int = 20,
) -> PaymentStatus | None:
    """Collect one payment, exactly once. Returns the payment's status afterwards.

    The signer call happens while the rows are locked, so a concurrent cancel or a second worker
    waits for the outcome instead of racing it. `Unavailable` from the signer rolls back and
    propagates: the job is retried and nothing was recorded as happened.
    """
    async with transaction(sessionmaker) as session:
        ref = (
            await session.execute(
                select(Payment.invoice_id, Invoice.subscription_id)
                .join(Invoice, Invoice.id == Payment.invoice_id)
                .where(Payment.id == payment_id)
            )
        ).one_or_none()
        if ref is None:
            return None
        invoice_id, subscription_id = ref
        subscription = (
            await lifecycle.get_for_update(session, subscription_id) if subscription_id else None
        )
        invoice = await invoices.get_for_update(session, invoice_id)
        payment = await payments.get_for_update(session, payment_id)
        assert payment is not None
        if payment.status not in IN_FLIGHT:
            return payment.status
        permission = await session.get_one(Permission, payment.permission_id)
        price = (
            await session.get_one(Price, subscription.price_id)
            if subscription is not None
            else None
        )
        now = clock.now()

        refusal = _refusal(subscription, invoice, permission, now=now)
        if refusal is None and subscription is not None and price is not None:
            index = lifecycle.period_index_of(subscription, invoice)
            deadline = (
                None
                if index is None
                else lifecycle.charge_deadline(subscription, price, permission, index)
            )
            if deadline is None or now >= deadline:
                refusal = "period_window_closed"
        outcome: ChargeOutcome | None
        if refusal is None:
            outcome = await gateway.charge(
                payments.order_for(payment, permission), wait_seconds=wait_seconds
            )
        else:
            # Not allowed to charge now — but an earlier attempt may already be with the signer.
            outcome = await gateway.lookup(payment.id)
            if outcome is None:
                outcome = ChargeOutcome(
                    key=payment.id,
                    state=ChargeState.FAILED,
                    failure_code=refusal,
                    failure_message=f"not charged: {refusal.replace('_', ' ')}",
                )
        await payments.apply_outcome(session, payment=payment, outcome=outcome)
        charge_metrics.count_outcome(session, payment)
        if payment.status is PaymentStatus.SUCCEEDED:
            await invoices.mark_paid(session, invoice=invoice, at=now)
            if subscription is not None:
                await lifecycle.mark_invoice_paid(session, subscription, invoice, at=now)
        elif payment.status is PaymentStatus.FAILED:
            code = payment.failure_code or "unknown"
            await invoices.record_payment_failed(session, invoice=invoice, code=code)
            if subscription is not None and price is not None:
                await dunning.on_payment_failed(
                    session,
                    subscription=subscription,
                    invoice=invoice,
                    code=code,
                    price=price,
                    permission=permission,
                    now=now,
                )
        else:
            await enqueue_collect(session, payment, at=now + RECHECK_DELAY)
        return payment.status


def _refusal(
    subscription: Subscription | None, invoice: Invoice, permission: Permission, *, now: datetime
) -> str | None:
    if subscription is not None and subscription.status not in lifecycle.CHARGEABLE:
        # subscription_canceled, subscription_paused, subscription_unpaid, ...
        return f"subscription_{subscription.status.value}"
    if invoice.status is not InvoiceStatus.OPEN:
        return "invoice_not_open"
    if not is_usable(permission, at=now):
        return unusable_code(permission)
    return None
