"""The lines of the invoices billing opens: the period's price, applied prorations, a discount.

A period invoice is ``subtotal = price × quantity + applied proration balance`` (never below zero:
a credit larger than that carries over); an ``always_invoice`` proration invoice's subtotal is the
net of the change's proration lines. Either way ``total = subtotal - discount``, where the
discount is the subscription's current one if it applies to the invoice (`cyphera.coupon.service`;
one discount line, the same rounding). The lines add up exactly to ``total``, which is the
invoice's ``amount_due``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cyphera.coupon import service as coupons
from cyphera.invoice.service import Line
from cyphera.kit.money import format_cents
from cyphera.models import Coupon, Price, Product, Subscription
from cyphera.models.invoice_line_item import InvoiceLineKind
from cyphera.subscription.proration import ProrationLine, apply_balance


@dataclass(frozen=True, slots=True)
class Bill:
    amount_due: int
    lines: list[Line]


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
    discount = await _discount_lines(
        session, subscription=subscription, subtotal=subtotal, period_start=start, period_end=end
    )
    return PeriodBill(
        amount_due=subtotal + sum(line.amount for line in discount),
        balance_left=balance_left,
        lines=lines + discount,
    )


async def bill_proration(
    session: AsyncSession,
    *,
    subscription: Subscription,
    proration_lines: Sequence[ProrationLine],
    subtotal: int,
) -> Bill:
    """An ``always_invoice`` proration invoice of `subtotal` (the net of `proration_lines`): its
    amount due and lines, discounted as a period invoice is (it uses up a `once` discount)."""
    start, end = subscription.current_period_start, subscription.current_period_end
    lines = proration_invoice_lines(proration_lines, subtotal=subtotal, subscription=subscription)
    discount = await _discount_lines(
        session, subscription=subscription, subtotal=subtotal, period_start=start, period_end=end
    )
    return Bill(amount_due=subtotal + sum(line.amount for line in discount), lines=lines + discount)


async def _discount_lines(
    session: AsyncSession,
    *,
    subscription: Subscription,
    subtotal: int,
    period_start: datetime,
    period_end: datetime,
) -> list[Line]:
    """The discount line of an invoice of `subtotal` for the period (none when nothing is off)."""
    applied = await coupons.for_invoice(
        session, subscription=subscription, subtotal=subtotal, period_start=period_start
    )
    if applied is None or applied.amount <= 0:
        return []
    return [
        Line(
            kind=InvoiceLineKind.DISCOUNT,
            description=coupon_label(applied.coupon),
            amount=-applied.amount,
            period_start=period_start,
            period_end=period_end,
            discount_id=applied.discount.id,
        )
    ]


def proration_invoice_lines(
    proration_lines: Sequence[ProrationLine], *, subtotal: int, subscription: Subscription
) -> list[Line]:
    """The proration lines of an ``always_invoice`` invoice (one line of `subtotal` if none are
    given)."""
    if not proration_lines:
        return [
            Line(
                kind=InvoiceLineKind.PRORATION,
                description="Proration of a price change",
                amount=subtotal,
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
