"""Invoices: one per (subscription, period), numbered per workspace without gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cyphera.event import service as events
from cyphera.kit.ids import new_id
from cyphera.models import Coupon, Discount, Invoice, InvoiceLineItem, Subscription, Workspace
from cyphera.models.coupon import CouponDuration
from cyphera.models.invoice import InvoiceStatus
from cyphera.models.invoice_line_item import InvoiceLineKind


@dataclass(frozen=True, slots=True)
class Line:
    """One line of an invoice to write; `amount` is signed cents (a credit or discount < 0)."""

    kind: InvoiceLineKind
    description: str
    amount: int
    period_start: datetime
    period_end: datetime
    price_id: str | None = None
    quantity: int | None = None
    unit_amount: int | None = None
    discount_id: str | None = None


class LinesDoNotAddUp(AssertionError):
    """A programming error: an invoice's lines must add up exactly to its amount due."""


async def add_lines(session: AsyncSession, *, invoice: Invoice, lines: Sequence[Line]) -> None:
    """Write `invoice`'s lines (in the caller's transaction); they must add up to its amount."""
    if sum(line.amount for line in lines) != invoice.amount_due:
        raise LinesDoNotAddUp(f"lines of {invoice.id} do not add up to {invoice.amount_due}")
    session.add_all(
        InvoiceLineItem(
            id=new_id("il"),
            workspace_id=invoice.workspace_id,
            mode=invoice.mode,
            invoice_id=invoice.id,
            position=position,
            kind=line.kind,
            description=line.description[:500],
            price_id=line.price_id,
            discount_id=line.discount_id,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            period_start=line.period_start,
            period_end=line.period_end,
        )
        for position, line in enumerate(lines)
    )
    await session.flush()


async def lines_of(
    session: AsyncSession, invoice_ids: Sequence[str]
) -> dict[str, list[InvoiceLineItem]]:
    """The lines of each invoice in `invoice_ids`, in order (an invoice without lines: absent)."""
    if not invoice_ids:
        return {}
    rows = (
        await session.execute(
            select(InvoiceLineItem)
            .where(InvoiceLineItem.invoice_id.in_(invoice_ids))
            .order_by(InvoiceLineItem.invoice_id, InvoiceLineItem.position)
        )
    ).scalars()
    found: dict[str, list[InvoiceLineItem]] = {}
    for row in rows:
        found.setdefault(row.invoice_id, []).append(row)
    return found


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

    A `once` discount the invoice used up is given back (`_give_back_discount`): the customer
    was never charged for it, so the next invoice gets it. The caller holds the subscription's
    and the invoice's locks and has checked that no payment of it is in flight.
    """
    if await _close(session, invoice=invoice, status=InvoiceStatus.VOID, event="invoice.voided"):
        await _give_back_discount(session, invoice=invoice)


async def mark_uncollectible(session: AsyncSession, *, invoice: Invoice) -> None:
    """An open invoice dunning gave up on (its on-chain window closed or the permission is gone).

    A discount it used up stays used up: the invoice was billed, only not collected."""
    await _close(
        session,
        invoice=invoice,
        status=InvoiceStatus.UNCOLLECTIBLE,
        event="invoice.marked_uncollectible",
    )


async def _close(
    session: AsyncSession, *, invoice: Invoice, status: InvoiceStatus, event: str
) -> bool:
    """Move an open invoice (locked by the caller) to `status` and record `event`; False, and
    nothing done, when it is no longer open (closing twice closes once)."""
    if invoice.status is not InvoiceStatus.OPEN:
        return False
    invoice.status = status
    await events.record(
        session,
        workspace_id=invoice.workspace_id,
        mode=invoice.mode,
        type=event,
        object_id=invoice.id,
        data={"subscription": invoice.subscription_id, "amount_due": invoice.amount_due},
    )
    return True


async def _give_back_discount(session: AsyncSession, *, invoice: Invoice) -> None:
    """Make a `once` discount that the voided `invoice` used up current again.

    Only a `once` discount is used up by an invoice (`cyphera.coupon.service.application`): a
    `repeating` one ends with its months, whatever was invoiced. It is given back only if no
    other discount was attached to the subscription since — the merchant's later choice (a
    current discount, or one since removed or used up) is never overridden — and the
    subscription's lock, held by every caller, keeps an attach from racing this. The discount's
    row is locked as `for_invoice` locks it, and the unique index of current discounts is the
    backstop. (Invoices sit below coupons in the layers, so this reads the coupon tables
    directly rather than through `cyphera.coupon.service`.)
    """
    later = aliased(Discount)
    attached_since = (
        exists()
        .where(
            later.subscription_id == Discount.subscription_id,
            later.id != Discount.id,
            or_(
                later.ended_at.is_(None),
                later.start > Discount.start,
                and_(later.start == Discount.start, later.created_at >= Discount.created_at),
            ),
        )
        .correlate(Discount)
    )
    given_back = (
        (
            await session.execute(
                select(Discount)
                .join(InvoiceLineItem, InvoiceLineItem.discount_id == Discount.id)
                .join(Coupon, Coupon.id == Discount.coupon_id)
                .where(
                    InvoiceLineItem.invoice_id == invoice.id,
                    Coupon.duration == CouponDuration.ONCE,
                    Discount.ended_at.is_not(None),
                    ~attached_since,
                )
                .with_for_update(of=Discount)
            )
        )
        .scalars()
        .all()
    )
    for discount in given_back:
        discount.ended_at = None
    await session.flush()
