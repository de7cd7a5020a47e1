"""The lines of the invoices billing opens: the period's price, applied prorations, a discount.

A period invoice is ``subtotal = price × quantity + applied proration balance`` (never below zero:
a credit larger than that carries over), then ``total = subtotal - discount`` where the discount
is the subscription's current one, if it applies to this period (`cyphera.coupon.service`). The
lines add up exactly to ``total``, which is the invoice's ``amount_due``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.coupon import service as coupons
from cyphera.invoice.service import Line
from cyphera.kit.money import format_cents
from cyphera.models import Coupon, Price, Product, Subscription
from cyphera.models.invoice_line_item import InvoiceLineKind
from cyphera.subscription.proration import ProrationLine, apply_balance


@dataclass(frozen=True, slots=True)
class PeriodBill:
    amount_due: int
    balance_left: int
    lines: list[Line]


def coupon_label(coupon: Coupon) -> str:
    if coupon.percent_off_bp is not None:
        off = f"{coupon.percent_off_bp / 100:g}% off"
    else:
        off = f"{format_cents(coupon.amount_off or 0, coupon.currency or 'usd')} off"
    return f"{coupon.name} ({off})" if coupon.name else off


async def bill_period(
    session: AsyncSession, *, subscription: Subscription, price: Price
) -> PeriodBill:
    """The current period's amount due and lines; uses up a `once` discount it applies."""
    start, end = subscription.current_period_start, subscription.current_period_end
    base = price.unit_amount * subscription.quantity
    subtotal, balance_left = apply_balance(base, subscription.proration_balance)
    product = await session.get_one(Product, price.product_id)
    lines = [
        Line(
            kind=InvoiceLineKind.SUBSCRIPTION,
            description=f"{subscription.quantity} × {product.name}",
            amount=base,
            period_start=start,
            period_end=end,
            price_id=price.id,
            quantity=subscription.quantity,
            unit_amount=price.unit_amount,
        )
    ]
    applied_balance = subtotal - base
    if applied_balance != 0:
        lines.append(
            Line(
                kind=InvoiceLineKind.PRORATION,
                description="Prorations of earlier price changes"
                if applied_balance > 0
                else "Credit from earlier price changes",
                amount=applied_balance,
                period_start=start,
                period_end=end,
            )
        )
    applied = await coupons.for_invoice(
        session, subscription=subscription, subtotal=subtotal, period_start=start
    )
    discount = 0 if applied is None else applied.amount
    if applied is not None and discount > 0:
        lines.append(
            Line(
                kind=InvoiceLineKind.DISCOUNT,
                description=coupon_label(applied.coupon),
                amount=-discount,
                period_start=start,
                period_end=end,
                discount_id=applied.discount.id,
            )
        )
    return PeriodBill(amount_due=subtotal - discount, balance_left=balance_left, lines=lines)


def proration_invoice_lines(
    proration_lines: Sequence[ProrationLine], *, amount_due: int, subscription: Subscription
) -> list[Line]:
    """The lines of an ``always_invoice`` proration invoice (one line if none are given)."""
    if not proration_lines:
        return [
            Line(
                kind=InvoiceLineKind.PRORATION,
                description="Proration of a price change",
                amount=amount_due,
                period_start=subscription.current_period_start,
                period_end=subscription.current_period_end,
            )
        ]
    return [
        Line(
            kind=InvoiceLineKind.PRORATION,
            description=line.description,
            amount=line.amount,
            period_start=line.period_start,
            period_end=line.period_end,
            price_id=line.price_id,
        )
        for line in proration_lines
    ]
