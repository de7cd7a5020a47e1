"""Invoices: one per (subscription, period), numbered per workspace without gaps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.event import service as events
from cyphera.kit.ids import new_id
from cyphera.models import Invoice, Subscription, Workspace
from cyphera.models.invoice import InvoiceStatus


async def _next_number(session: AsyncSession, workspace_id: str) -> str:
    # UPDATE … RETURNING takes the workspace row lock for the rest of the transaction, which is
    # what keeps numbers gap-free and unique under concurrency.
    sequence = (
        await session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(invoice_sequence=Workspace.invoice_sequence + 1)
            .returning(Workspace.invoice_sequence)
        )
    ).scalar_one()
    return f"{workspace_id[-8:].upper()}-{sequence:04d}"


async def open_for_period(
    session: AsyncSession,
    *,
    subscription: Subscription,
    period_index: int,
    period_start: datetime,
    period_end: datetime,
    amount_due: int,
    currency: str,
) -> Invoice:
    """Create the period's invoice, finalised (open); the unique (subscription, period) index
    turns a duplicate attempt into an error rather than a second invoice."""
    invoice = Invoice(
        id=new_id("in"),
        workspace_id=subscription.workspace_id,
        mode=subscription.mode,
        number=await _next_number(session, subscription.workspace_id),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        period_index=period_index,
        period_start=period_start,
        period_end=period_end,
        status=InvoiceStatus.OPEN,
        currency=currency,
        amount_due=amount_due,
        amount_paid=0,
    )
    session.add(invoice)
    await session.flush()
    for kind in ("invoice.created", "invoice.finalized"):
        await events.record(
            session,
            workspace_id=invoice.workspace_id,
            mode=invoice.mode,
            type=kind,
            object_id=invoice.id,
            data={
                "subscription": subscription.id,
                "amount_due": amount_due,
                "number": invoice.number,
            },
        )
    return invoice


async def get_for_update(session: AsyncSession, invoice_id: str) -> Invoice:
    return (
        await session.execute(select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    ).scalar_one()


async def mark_paid(session: AsyncSession, *, invoice: Invoice, at: datetime) -> None:
    invoice.status = InvoiceStatus.PAID
    invoice.amount_paid = invoice.amount_due
    invoice.paid_at = at
    await events.record(
        session,
        workspace_id=invoice.workspace_id,
        mode=invoice.mode,
        type="invoice.paid",
        object_id=invoice.id,
        data={"amount_paid": invoice.amount_paid},
    )


async def record_payment_failed(session: AsyncSession, *, invoice: Invoice, code: str) -> None:
    await events.record(
        session,
        workspace_id=invoice.workspace_id,
        mode=invoice.mode,
        type="invoice.payment_failed",
        object_id=invoice.id,
        data={"failure_code": code},
    )


async def open_proration(
    session: AsyncSession,
    *,
    subscription: Subscription,
    period_start: datetime,
    period_end: datetime,
    amount_due: int,
    currency: str,
) -> Invoice:
    """An invoice for a proration charged at once (``proration_behavior=always_invoice``).

    It belongs to the current period but is not *the* period's invoice: its ``period_index`` is
    null, so the one-invoice-per-period constraint still holds for the regular invoices.
    """
    invoice = Invoice(
        id=new_id("in"),
        workspace_id=subscription.workspace_id,
        mode=subscription.mode,
        number=await _next_number(session, subscription.workspace_id),
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        period_index=None,
        period_start=period_start,
        period_end=period_end,
        status=InvoiceStatus.OPEN,
        currency=currency,
        amount_due=amount_due,
        amount_paid=0,
    )
    session.add(invoice)
    await session.flush()
    for kind in ("invoice.created", "invoice.finalized"):
        await events.record(
            session,
            workspace_id=invoice.workspace_id,
            mode=invoice.mode,
            type=kind,
            object_id=invoice.id,
            data={
                "subscription": subscription.id,
                "amount_due": amount_due,
                "number": invoice.number,
                "billing_reason": "subscription_update",
            },
        )
    return invoice


async def void(session: AsyncSession, *, invoice: Invoice) -> None:
    """Void an open invoice: it will never be collected (the subscription ended or paused).

    The caller holds the invoice's lock and has checked that no payment of it is in flight.
    """
    if invoice.status is not InvoiceStatus.OPEN:
        return
    invoice.status = InvoiceStatus.VOID
    await events.record(
        session,
        workspace_id=invoice.workspace_id,
        mode=invoice.mode,
        type="invoice.voided",
        object_id=invoice.id,
        data={"subscription": invoice.subscription_id, "amount_due": invoice.amount_due},
    )


async def mark_uncollectible(session: AsyncSession, *, invoice: Invoice) -> None:
    """An open invoice dunning gave up on (its on-chain window closed or the permission is gone)."""
    if invoice.status is not InvoiceStatus.OPEN:
        return
    invoice.status = InvoiceStatus.UNCOLLECTIBLE
    await events.record(
        session,
        workspace_id=invoice.workspace_id,
        mode=invoice.mode,
        type="invoice.marked_uncollectible",
        object_id=invoice.id,
        data={"subscription": invoice.subscription_id, "amount_due": invoice.amount_due},
    )
